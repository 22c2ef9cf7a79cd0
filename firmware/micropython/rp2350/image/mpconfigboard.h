// The QOS signer image for the Raspberry Pi Pico 2 (see mpconfigboard.cmake).
#define MICROPY_HW_BOARD_NAME                   "QOS signer (Raspberry Pi Pico 2)"
#define MICROPY_HW_FLASH_STORAGE_BYTES          (PICO_FLASH_SIZE_BYTES - 1024 * 1024)
// The filesystem holds the wallet's files: never offered to the host as a USB drive.
#define MICROPY_HW_USB_MSC                      (0)
