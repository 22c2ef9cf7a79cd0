// Included into every file of the image (host/devtools/qemu.py): the firmware starts at the end
// of mp_init(), in place of the port's REPL (qosimage.c).
void qos_start(void);
#define MICROPY_PORT_INIT_FUNC qos_start()
