// Included into every file of the image (host/devtools/qemu.py): the firmware starts at the end
// of mp_init(), in place of the port's REPL (qosimage.c). A lab image (QOS_LAB_IMAGE,
// host/devtools/qemu_lab.py) keeps the port's REPL instead, to run tests and benchmarks.
void qos_start(void);
#ifndef QOS_LAB_IMAGE
#define MICROPY_PORT_INIT_FUNC qos_start()
#endif
