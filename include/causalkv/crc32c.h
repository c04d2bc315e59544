/* crc32c.h — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI,
 * ext4 and LevelDB: ckv_crc32c(0, "123456789", 9) == 0xE3069283. Chaining: pass the
 * previous result as crc to continue over more bytes. Plain module. */
#ifndef CAUSALKV_CRC32C_H
#define CAUSALKV_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t ckv_crc32c(uint32_t crc, const void *data, size_t len);

#endif
