// The QOS signer image for the Raspberry Pi Pico (see mpconfigboard.cmake).
#define MICROPY_HW_BOARD_NAME                   "QOS signer (Raspberry Pi Pico)"
// Flash layout: the Pico 2's (rp2350/flashlayout.py, checked on the built image by tests/boards)
// on the Pico's 2 MiB: 1 MiB of code, the two 384 KiB update slots in the port's ROMFS partition,
// then 256 KiB of storage: LittleFS and, in its last 8 KiB, the vault's secret region.
#define MICROPY_HW_ROMFS_BYTES                  (2 * 96 * 4096)
#define MICROPY_HW_FLASH_STORAGE_BYTES          (PICO_FLASH_SIZE_BYTES - 1024 * 1024 - MICROPY_HW_ROMFS_BYTES)
// The filesystem holds the wallet's files: never offered to the host as a USB drive.
#define MICROPY_HW_USB_MSC                      (0)
