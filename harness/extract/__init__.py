"""Videos -> landmarks: MediaPipe extraction (local pool or Ray), clip fetching, video I/O."""
