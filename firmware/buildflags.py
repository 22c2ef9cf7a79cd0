# Build facts read at run time. `qos fw build --production` writes its own copy with DEBUG = False
# (and leaves apps/debug out of the tree altogether).
BOARD = "unix"
VERSION = "0.1.0"
DEBUG = True
