// The QEMU board's C glue, and the boot entry of every QOS image built by host/devtools/qemu.py.
//
// qos_start() runs at the end of mp_init() (MICROPY_PORT_INIT_FUNC): it runs the frozen module
// _qosboot (the firmware's main) and never returns, so the port's REPL loop is never reached:
// nothing on any UART is read as REPL input, ctrl-C/ctrl-D/raw-REPL bytes are wire bytes like
// any other. If the firmware stops (an exception, or main returning), the CPU halts.
//
// The module qosimage gives the board glue Arm semihosting file calls (the flash image is a file
// on the host; every write reaches the file before the call returns, so killing QEMU is a power
// cut), a console on QEMU's own output (the wire owns UART0), and wfi.
#include <string.h>

#include "py/runtime.h"
#include "py/lexer.h"
#include "py/mperrno.h"
#include "py/compile.h"
#include "py/mphal.h"
#include "shared/runtime/pyexec.h"

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_SEEK 0x0a
#define SYS_FLEN 0x0c

static int semihost(int op, void *args) {
    register int r0 __asm__ ("r0") = op;
    register void *r1 __asm__ ("r1") = args;
    __asm__ volatile ("bkpt 0xab" : "+r" (r0) : "r" (r1) : "memory");
    return r0;
}

static void seek(int fd, mp_int_t pos) {
    uint32_t args[2] = { (uint32_t)fd, (uint32_t)pos };
    if (semihost(SYS_SEEK, args) != 0) {
        mp_raise_OSError(MP_EIO);
    }
}

// host_open(name, create): a handle to the file, created empty if missing and create is true.
static mp_obj_t host_open(mp_obj_t name_in, mp_obj_t create_in) {
    size_t len;
    const char *name = mp_obj_str_get_data(name_in, &len);
    uint32_t args[3] = { (uint32_t)name, 3 /* "r+b" */, len };
    int fd = semihost(SYS_OPEN, args);
    if (fd == -1 && mp_obj_is_true(create_in)) {
        args[1] = 7; // "w+b"
        fd = semihost(SYS_OPEN, args);
    }
    if (fd == -1) {
        mp_raise_OSError(MP_ENOENT);
    }
    return MP_OBJ_NEW_SMALL_INT(fd);
}
static MP_DEFINE_CONST_FUN_OBJ_2(host_open_obj, host_open);

static mp_obj_t host_close(mp_obj_t fd_in) {
    uint32_t args[1] = { (uint32_t)mp_obj_get_int(fd_in) };
    semihost(SYS_CLOSE, args);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(host_close_obj, host_close);

static mp_obj_t host_size(mp_obj_t fd_in) {
    uint32_t args[1] = { (uint32_t)mp_obj_get_int(fd_in) };
    int n = semihost(SYS_FLEN, args);
    if (n < 0) {
        mp_raise_OSError(MP_EIO);
    }
    return MP_OBJ_NEW_SMALL_INT(n);
}
static MP_DEFINE_CONST_FUN_OBJ_1(host_size_obj, host_size);

// host_readinto(fd, offset, buf): fills buf from the file at offset (0xFF past its end: erased).
static mp_obj_t host_readinto(mp_obj_t fd_in, mp_obj_t offset_in, mp_obj_t buf_in) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, MP_BUFFER_WRITE);
    int fd = mp_obj_get_int(fd_in);
    seek(fd, mp_obj_get_int(offset_in));
    uint32_t args[3] = { (uint32_t)fd, (uint32_t)buf.buf, buf.len };
    int missing = semihost(SYS_READ, args);
    if (missing < 0 || (size_t)missing > buf.len) {
        mp_raise_OSError(MP_EIO);
    }
    memset((char *)buf.buf + buf.len - missing, 0xff, missing);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(host_readinto_obj, host_readinto);

static mp_obj_t host_write(mp_obj_t fd_in, mp_obj_t offset_in, mp_obj_t buf_in) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, MP_BUFFER_READ);
    int fd = mp_obj_get_int(fd_in);
    seek(fd, mp_obj_get_int(offset_in));
    uint32_t args[3] = { (uint32_t)fd, (uint32_t)buf.buf, buf.len };
    if (semihost(SYS_WRITE, args) != 0) {
        mp_raise_OSError(MP_EIO);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(host_write_obj, host_write);

// host_read(fd, buf): fills buf from the file's current position (a character device such as
// the host's /dev/urandom, the QEMU board's entropy stand-in: rng/devices.py); OSError if short.
static mp_obj_t host_read(mp_obj_t fd_in, mp_obj_t buf_in) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, MP_BUFFER_WRITE);
    uint32_t args[3] = { (uint32_t)mp_obj_get_int(fd_in), (uint32_t)buf.buf, buf.len };
    if (semihost(SYS_READ, args) != 0) {
        mp_raise_OSError(MP_EIO);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(host_read_obj, host_read);

static mp_obj_t console(mp_obj_t text_in) {
    const char *text = mp_obj_str_get_str(text_in);
    semihost(SYS_WRITE0, (void *)text);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(console_obj, console);

static mp_obj_t wfi(void) {
    __asm__ volatile ("wfi");
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(wfi_obj, wfi);

static const mp_rom_map_elem_t qosimage_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_qosimage) },
    { MP_ROM_QSTR(MP_QSTR_host_open), MP_ROM_PTR(&host_open_obj) },
    { MP_ROM_QSTR(MP_QSTR_host_size), MP_ROM_PTR(&host_size_obj) },
    { MP_ROM_QSTR(MP_QSTR_host_close), MP_ROM_PTR(&host_close_obj) },
    { MP_ROM_QSTR(MP_QSTR_host_readinto), MP_ROM_PTR(&host_readinto_obj) },
    { MP_ROM_QSTR(MP_QSTR_host_write), MP_ROM_PTR(&host_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_host_read), MP_ROM_PTR(&host_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_console), MP_ROM_PTR(&console_obj) },
    { MP_ROM_QSTR(MP_QSTR_wfi), MP_ROM_PTR(&wfi_obj) },
};
static MP_DEFINE_CONST_DICT(qosimage_globals, qosimage_globals_table);

const mp_obj_module_t qosimage_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&qosimage_globals,
};
MP_REGISTER_MODULE(MP_QSTR_qosimage, qosimage_module);

// The one entry of the firmware: the hook for loaders (run before main by _qosboot) lives in
// Python, so this never changes.
void qos_start(void) {
    pyexec_frozen_module("_qosboot.py", false);
    semihost(SYS_WRITE0, (void *)"QOS: firmware stopped; halting\n");
    for (;;) {
        __asm__ volatile ("wfi");
    }
}

#ifndef QOS_LAB_IMAGE
// The port's main() still names its REPL loops after mp_init(); with the compiler left out of the
// image there are none, and qos_start() never returns to reach them. Kept as halts, not REPLs.
int pyexec_friendly_repl(void) {
    qos_start();
    return 1;
}

int pyexec_raw_repl(void) {
    qos_start();
    return 1;
}
#endif

// LittleFS stamps files with the time: the board has no clock, so the time since reset.
uint64_t mp_hal_time_ns(void) {
    return (uint64_t)mp_hal_ticks_us() * 1000;
}

#if !MICROPY_ENABLE_COMPILER
// The build system marks every frozen manifest as possibly holding source modules; this image
// freezes bytecode only and has no compiler, so the source path cannot be taken.
mp_lexer_t *mp_lexer_new_from_str_len(qstr src_name, const char *str, size_t len, size_t free_len) {
    mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("no compiler"));
}

mp_obj_t mp_parse_compile_execute(mp_lexer_t *lex, mp_parse_input_kind_t parse_input_kind, mp_obj_dict_t *globals, mp_obj_dict_t *locals) {
    mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("no compiler"));
}
#endif

