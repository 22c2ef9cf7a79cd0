# The QOS signer image for the Raspberry Pi Pico 2 (RP2350, Arm cores), built from the pinned
# MicroPython by host/devtools/rp2350.py: the whole firmware frozen (image/manifest.py beside this
# file). A production image (QOS_PRODUCTION) has no compiler: no REPL on any interface and no way
# to run code that is not in the image.
set(PICO_BOARD "pico2")
set(PICO_PLATFORM "rp2350")
if(QOS_PRODUCTION)
    list(APPEND MICROPY_DEF_BOARD MICROPY_ENABLE_COMPILER=0)
endif()
