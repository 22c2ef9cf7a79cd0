// The QOS signer image for the Raspberry Pi Pico 2 (see mpconfigboard.cmake).
#define MICROPY_HW_BOARD_NAME                   "QOS signer (Raspberry Pi Pico 2)"
// Flash layout (rp2350/flashlayout.py holds the same sizes; tests/boards checks the built image):
// 1 MiB of code, then the port's ROMFS partition (placed right below the storage area) holding
// the two 384 KiB update slots, then the storage area: LittleFS and, in its last 8 KiB, the
// vault's secret region.
#define MICROPY_HW_ROMFS_BYTES                  (2 * 96 * 4096)
#define MICROPY_HW_FLASH_STORAGE_BYTES          (PICO_FLASH_SIZE_BYTES - 1024 * 1024 - MICROPY_HW_ROMFS_BYTES)
// The filesystem holds the wallet's files: never offered to the host as a USB drive.
#define MICROPY_HW_USB_MSC                      (0)
