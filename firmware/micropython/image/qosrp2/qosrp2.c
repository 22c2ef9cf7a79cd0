// The RP2350 image's C glue. The port runs the frozen main.py once USB is up, and the firmware
// never returns from it. A production image has no compiler, so the port's REPL loops do not
// exist: if main ever returned (or an exception escaped it), the board restarts instead of
// offering a prompt on USB.
#include "py/mpconfig.h"

#if !MICROPY_ENABLE_COMPILER
#include "py/compile.h"
#include "py/lexer.h"
#include "py/runtime.h"
#include "hardware/watchdog.h"

static int restart(void) {
    watchdog_reboot(0, 0, 0);
    for (;;) {
        __asm__ volatile ("wfi");
    }
    return 1;
}

int pyexec_friendly_repl(void) {
    return restart();
}

int pyexec_raw_repl(void) {
    return restart();
}

// The build marks every frozen manifest as possibly holding source modules; this image freezes
// bytecode only, so the source path cannot be taken.
mp_lexer_t *mp_lexer_new_from_str_len(qstr src_name, const char *str, size_t len, size_t free_len) {
    mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("no compiler"));
}

mp_obj_t mp_parse_compile_execute(mp_lexer_t *lex, mp_parse_input_kind_t parse_input_kind, mp_obj_dict_t *globals, mp_obj_dict_t *locals) {
    mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("no compiler"));
}
#endif
