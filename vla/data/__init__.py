"""LeRobot v3 datasets: the feature schema, durable recording, validation and repair.

Importing this package quiets SVT-AV1, which logs its configuration for every episode video and would
bury our own output (the recorder also hides `datasets`' per-episode progress bars).
"""

import os

os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1: errors only

# torchcodec's wheels need a system FFmpeg (libavutil.so.56-60) that these machines lack; lerobot then
# prints a long traceback before falling back. PyAV bundles its own FFmpeg, so ask for it directly.
VIDEO_BACKEND = "pyav"
