/* Inside the ipr layer: the part of bincode 1.x the IPR messages use, with
 * the options nym sets (big-endian, varint integers, no size limit,
 * trailing bytes rejected). The reader and the writer keep their first
 * error and ignore everything after it, so a message is read or written
 * as straight-line code and checked once at the end. */
#ifndef MIX_IPR_BINCODE_H
#define MIX_IPR_BINCODE_H

#include "ipr/ipr.h"

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    ipr_result error;
} ipr_reader;

void ipr_reader_init(ipr_reader *r, const uint8_t *buf, size_t len);
/* The first error, else IPR_ERR_TRAILING when input is left over. */
ipr_result ipr_reader_finish(const ipr_reader *r);
/* Records an error found by the caller (a value out of range). */
void ipr_reader_fail(ipr_reader *r, ipr_result error);

/* After an error, reads give zeros and empty strings. */
uint8_t ipr_read_u8(ipr_reader *r);
void ipr_read_raw(ipr_reader *r, uint8_t *out, size_t n);
/* An unsigned varint; IPR_ERR_VARINT above max (the field type's maximum). */
uint64_t ipr_read_varint(ipr_reader *r, uint64_t max);
/* A zigzag varint into an i32. */
int32_t ipr_read_i32(ipr_reader *r);
/* An enum's variant index (a varint u32); IPR_ERR_TAG unless below count. */
uint32_t ipr_read_variant(ipr_reader *r, uint32_t count);
/* An Option's tag or a bool: one byte, 0 or 1. */
bool ipr_read_flag(ipr_reader *r);
/* Vec<u8> and Bytes: a varint u64 length, then the bytes. */
ipr_bytes ipr_read_bytes(ipr_reader *r);
/* String: the same, and valid UTF-8. */
ipr_bytes ipr_read_string(ipr_reader *r);
void ipr_read_timestamp(ipr_reader *r, ipr_timestamp *timestamp);

typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    ipr_result error;
} ipr_writer;

void ipr_writer_init(ipr_writer *w, uint8_t *buf, size_t cap);
/* The first error, else IPR_OK with the length written. */
ipr_result ipr_writer_finish(const ipr_writer *w, size_t *out_len);
void ipr_writer_fail(ipr_writer *w, ipr_result error);

void ipr_write_u8(ipr_writer *w, uint8_t value);
void ipr_write_raw(ipr_writer *w, const uint8_t *data, size_t n);
/* Always the shortest form, as bincode writes it. */
void ipr_write_varint(ipr_writer *w, uint64_t value);
void ipr_write_i32(ipr_writer *w, int32_t value);
void ipr_write_flag(ipr_writer *w, bool value);
void ipr_write_bytes(ipr_writer *w, ipr_bytes bytes);
/* IPR_ERR_UTF8 unless the string is UTF-8, which the peer would reject. */
void ipr_write_string(ipr_writer *w, ipr_bytes string);
/* IPR_ERR_TIMESTAMP when out of range, which the peer would reject. */
void ipr_write_timestamp(ipr_writer *w, const ipr_timestamp *timestamp);

#endif
