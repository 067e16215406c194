#include "ipr/bincode.h"

#include <string.h>

#include "codec/codec.h"

/* varint markers: a value up to 250 is its own byte; larger ones follow a
 * marker as a big-endian u16, u32 or u64. 0xfe (u128) and 0xff are errors. */
#define VARINT_MAX_SINGLE 250
#define VARINT_U16 0xfb
#define VARINT_U32 0xfc
#define VARINT_U64 0xfd

void ipr_reader_init(ipr_reader *r, const uint8_t *buf, size_t len)
{
    r->buf = buf;
    r->len = len;
    r->pos = 0;
    r->error = IPR_OK;
}

ipr_result ipr_reader_finish(const ipr_reader *r)
{
    if (r->error != IPR_OK) return r->error;
    return r->pos == r->len ? IPR_OK : IPR_ERR_TRAILING;
}

void ipr_reader_fail(ipr_reader *r, ipr_result error)
{
    if (r->error == IPR_OK) r->error = error;
}

/* The next n bytes, or NULL (and an error) when fewer are left. */
static const uint8_t *take(ipr_reader *r, size_t n)
{
    if (r->error != IPR_OK) return NULL;
    if (n > r->len - r->pos) {
        r->error = IPR_ERR_TRUNCATED;
        return NULL;
    }
    const uint8_t *p = r->buf + r->pos;
    r->pos += n;
    return p;
}

static uint64_t big_endian(const uint8_t *p, size_t n)
{
    uint64_t value = 0;
    for (size_t i = 0; i < n; i++) value = value << 8 | p[i];
    return value;
}

uint8_t ipr_read_u8(ipr_reader *r)
{
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}

void ipr_read_raw(ipr_reader *r, uint8_t *out, size_t n)
{
    const uint8_t *p = take(r, n);
    if (p) {
        memcpy(out, p, n);
    } else {
        memset(out, 0, n);
    }
}

uint64_t ipr_read_varint(ipr_reader *r, uint64_t max)
{
    uint8_t marker = ipr_read_u8(r);
    size_t width;
    if (marker <= VARINT_MAX_SINGLE) {
        width = 0;
    } else if (marker == VARINT_U16) {
        width = 2;
    } else if (marker == VARINT_U32) {
        width = 4;
    } else if (marker == VARINT_U64) {
        width = 8;
    } else {
        ipr_reader_fail(r, IPR_ERR_VARINT);
        return 0;
    }
    /* bincode takes a longer form than needed; only the value's range counts */
    uint64_t value = marker;
    if (width) {
        const uint8_t *p = take(r, width);
        value = p ? big_endian(p, width) : 0;
    }
    if (value > max) {
        ipr_reader_fail(r, IPR_ERR_VARINT);
        return 0;
    }
    return r->error == IPR_OK ? value : 0;
}

int32_t ipr_read_i32(ipr_reader *r)
{
    uint64_t zigzag = ipr_read_varint(r, UINT64_MAX);
    /* an i32 zigzags to at most 2^32 - 1 */
    if (zigzag > UINT32_MAX) {
        ipr_reader_fail(r, IPR_ERR_VARINT);
        return 0;
    }
    int64_t magnitude = (int64_t)(zigzag >> 1);
    return (int32_t)(zigzag & 1 ? -magnitude - 1 : magnitude);
}

uint32_t ipr_read_variant(ipr_reader *r, uint32_t count)
{
    uint32_t index = (uint32_t)ipr_read_varint(r, UINT32_MAX);
    if (index >= count) {
        ipr_reader_fail(r, IPR_ERR_TAG);
        return 0;
    }
    return index;
}

bool ipr_read_flag(ipr_reader *r)
{
    uint8_t tag = ipr_read_u8(r);
    if (tag > 1) ipr_reader_fail(r, IPR_ERR_TAG);
    return tag == 1;
}

ipr_bytes ipr_read_bytes(ipr_reader *r)
{
    ipr_bytes bytes = {NULL, 0};
    uint64_t len = ipr_read_varint(r, UINT64_MAX);
    /* compared before narrowing, so a 32-bit size_t cannot wrap */
    if (r->error == IPR_OK && len > r->len - r->pos) {
        ipr_reader_fail(r, IPR_ERR_TRUNCATED);
        return bytes;
    }
    const uint8_t *p = take(r, (size_t)len);
    if (p) {
        bytes.data = p;
        bytes.len = (size_t)len;
    }
    return bytes;
}

static bool is_utf8(ipr_bytes s)
{
    ws_utf8 utf8;
    ws_utf8_init(&utf8);
    return ws_utf8_feed(&utf8, s.data, s.len) && ws_utf8_complete(&utf8);
}

ipr_bytes ipr_read_string(ipr_reader *r)
{
    ipr_bytes s = ipr_read_bytes(r);
    if (r->error == IPR_OK && !is_utf8(s)) {
        ipr_reader_fail(r, IPR_ERR_UTF8);
        s.data = NULL;
        s.len = 0;
    }
    return s;
}

void ipr_writer_init(ipr_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->error = IPR_OK;
}

ipr_result ipr_writer_finish(const ipr_writer *w, size_t *out_len)
{
    *out_len = w->error == IPR_OK ? w->len : 0;
    return w->error;
}

void ipr_writer_fail(ipr_writer *w, ipr_result error)
{
    if (w->error == IPR_OK) w->error = error;
}

/* Room for n more bytes, or NULL (and an error). */
static uint8_t *reserve(ipr_writer *w, size_t n)
{
    if (w->error != IPR_OK) return NULL;
    if (n > w->cap - w->len) {
        w->error = IPR_ERR_NO_ROOM;
        return NULL;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

void ipr_write_u8(ipr_writer *w, uint8_t value)
{
    uint8_t *p = reserve(w, 1);
    if (p) p[0] = value;
}

void ipr_write_raw(ipr_writer *w, const uint8_t *data, size_t n)
{
    uint8_t *p = reserve(w, n);
    if (p && n) memcpy(p, data, n);
}

void ipr_write_varint(ipr_writer *w, uint64_t value)
{
    uint8_t marker;
    size_t width;
    if (value <= VARINT_MAX_SINGLE) {
        ipr_write_u8(w, (uint8_t)value);
        return;
    } else if (value <= UINT16_MAX) {
        marker = VARINT_U16;
        width = 2;
    } else if (value <= UINT32_MAX) {
        marker = VARINT_U32;
        width = 4;
    } else {
        marker = VARINT_U64;
        width = 8;
    }
    uint8_t *p = reserve(w, 1 + width);
    if (!p) return;
    p[0] = marker;
    for (size_t i = 0; i < width; i++) p[1 + i] = (uint8_t)(value >> 8 * (width - 1 - i));
}

void ipr_write_i32(ipr_writer *w, int32_t value)
{
    int64_t v = value;
    ipr_write_varint(w, v < 0 ? (uint64_t)(-v) * 2 - 1 : (uint64_t)v * 2);
}

void ipr_write_flag(ipr_writer *w, bool value)
{
    ipr_write_u8(w, value ? 1 : 0);
}

void ipr_write_bytes(ipr_writer *w, ipr_bytes bytes)
{
    ipr_write_varint(w, bytes.len);
    ipr_write_raw(w, bytes.data, bytes.len);
}

void ipr_write_string(ipr_writer *w, ipr_bytes string)
{
    if (!is_utf8(string)) ipr_writer_fail(w, IPR_ERR_UTF8);
    ipr_write_bytes(w, string);
}
