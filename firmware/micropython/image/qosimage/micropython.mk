# The QEMU board's C glue (firmware/micropython/qemu): semihosted flash file and the boot entry.
QOSIMAGE_DIR := $(USERMOD_DIR)
SRC_USERMOD_C += $(QOSIMAGE_DIR)/qosimage.c
CFLAGS_USERMOD += -I$(QOSIMAGE_DIR)
