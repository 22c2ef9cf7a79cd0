// mbedtls for the QEMU board image: only cryptolib's AES is used (the vault's cipher); TLS is
// built because MicroPython's cryptolib comes with it; its entropy would be the qemu port's LCG
// (mphalport.c), so TLS must never be used on this board (nothing in the firmware does).
#ifndef QOS_MBEDTLS_CONFIG_PORT_H
#define QOS_MBEDTLS_CONFIG_PORT_H

#define MBEDTLS_CIPHER_MODE_CTR
#define MICROPY_MBEDTLS_CONFIG_BARE_METAL (1)
#include "extmod/mbedtls/mbedtls_config_common.h"
#undef MBEDTLS_HAVE_TIME
#undef MBEDTLS_HAVE_TIME_DATE

#endif
