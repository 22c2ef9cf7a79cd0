# The QOS signer image for the Raspberry Pi Pico (RP2040, Cortex-M0+), built from the pinned
# MicroPython by host/devtools/rp2350.py like the Pico 2's (../../rp2350/image/): the whole
# firmware frozen, and a production image (QOS_PRODUCTION) has no compiler: no REPL on any
# interface and no way to run code that is not in the image.
set(PICO_BOARD "pico")
set(PICO_PLATFORM "rp2040")
if(QOS_PRODUCTION)
    list(APPEND MICROPY_DEF_BOARD MICROPY_ENABLE_COMPILER=0)
endif()
