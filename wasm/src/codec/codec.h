/* The codec layer: text encodings the protocols need. A JSON reader that
 * works in place on untrusted text, a JSON writer into a caller buffer,
 * base64 (RFC 4648, padded) and base58 (Bitcoin alphabet).
 * Nothing here allocates. */
#ifndef MIX_CODEC_H
#define MIX_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- JSON reading ---- */

typedef enum {
    JSON_INVALID = 0,
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
} json_type;

/* A value inside a document: its exact text span. */
typedef struct {
    const char *start;
    size_t len;
    json_type type;
} json_value;

#define JSON_MAX_DEPTH 32

/* Checks that text is exactly one JSON value (surrounding whitespace
 * allowed), nested at most JSON_MAX_DEPTH deep; fills root. */
bool json_parse(json_value *root, const char *text, size_t len);

/* Looks up a member of an object by key (keys compared after unescaping
 * only when they contain no escapes; protocol keys never do). */
bool json_object_get(const json_value *object, const char *key, json_value *out);

/* Iterates an array or the values of an object: start with *cursor = 0. */
bool json_next(const json_value *container, size_t *cursor, json_value *out);
/* Iterates an object's members, giving the key as a string value. */
bool json_next_member(const json_value *object, size_t *cursor, json_value *key, json_value *value);

bool json_as_bool(const json_value *v, bool *out);
/* Unsigned and signed integers without fraction or exponent, range-checked. */
bool json_as_u64(const json_value *v, uint64_t *out);
bool json_as_i64(const json_value *v, int64_t *out);
/* A number with an optional fraction, e.g. "1.00" in a string or 0.5; used
 * for performance figures. Gives the value times 100, rounded down. */
bool json_as_percent(const json_value *v, uint32_t *out);
/* Unescapes a string into out (NUL-terminated, UTF-8); fails when it does
 * not fit in out_cap including the terminator. Gives the length. */
bool json_as_string(const json_value *v, char *out, size_t out_cap, size_t *out_len);
/* Compares a string value with a plain C string. */
bool json_string_equals(const json_value *v, const char *s);
/* An array of integers 0..255 (serde's encoding of bytes) into out; gives the count. */
bool json_as_byte_array(const json_value *v, uint8_t *out, size_t out_cap, size_t *out_len);

/* ---- JSON writing ---- */

typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;        /* set once anything did not fit; the text is then unusable */
    uint32_t need_comma;  /* one bit per open container */
    uint8_t depth;
    bool after_key;
} json_writer;

void json_writer_init(json_writer *w, char *buf, size_t cap);
void json_object_begin(json_writer *w);
void json_object_end(json_writer *w);
void json_array_begin(json_writer *w);
void json_array_end(json_writer *w);
/* Inside an object: the key of the next value. */
void json_key(json_writer *w, const char *key);
void json_write_string(json_writer *w, const char *s, size_t len);
void json_write_cstring(json_writer *w, const char *s);
void json_write_u64(json_writer *w, uint64_t v);
void json_write_i64(json_writer *w, int64_t v);
void json_write_bool(json_writer *w, bool v);
void json_write_null(json_writer *w);
void json_write_byte_array(json_writer *w, const uint8_t *bytes, size_t len);
/* Ends the text with a NUL; gives its length, or -1 after an overflow. */
int json_writer_finish(json_writer *w);

/* ---- base64 and base58 ---- */

#define BASE64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)

/* Writes the padded encoding and a NUL; gives the length, or -1 when out_cap is too small. */
int base64_encode(char *out, size_t out_cap, const uint8_t *in, size_t len);
/* Strict decoding of padded text; gives the byte count, or -1. */
int base64_decode(uint8_t *out, size_t out_cap, const char *in, size_t len);

#define BASE58_MAX_ENCODED_LEN(n) ((n) * 138 / 100 + 1)

/* Gives the length written (plus a NUL), or -1 when out_cap is too small. */
int base58_encode(char *out, size_t out_cap, const uint8_t *in, size_t len);
/* Decodes into exactly out_len bytes; fails on other lengths or bad characters. */
bool base58_decode_exact(uint8_t *out, size_t out_len, const char *in, size_t in_len);

/* ---- WebSocket framing (RFC 6455) ---- */

/* Frames, close payloads, UTF-8 checking and the opening handshake, for
 * both roles. No extensions are ever negotiated, so the reserved bits must
 * be zero. Results are valid only when a function returns WS_OK. */

#define WS_MAX_HEADER_LEN 14       /* 2 + 8 (64-bit length) + 4 (mask key) */
#define WS_MASK_KEY_LEN 4
#define WS_MAX_CONTROL_PAYLOAD 125
#define WS_MAX_CLOSE_REASON 123    /* a control payload less the 2-byte code */
#define WS_NONCE_LEN 16            /* random bytes behind Sec-WebSocket-Key */
#define WS_KEY_LEN 24              /* base64 of the nonce */
#define WS_ACCEPT_LEN 28           /* base64 of a SHA-1 digest */

/* The close code the application sees for a close frame without one. */
#define WS_CLOSE_NO_STATUS 1005

typedef enum {
    WS_OPCODE_CONTINUATION = 0x0,
    WS_OPCODE_TEXT = 0x1,
    WS_OPCODE_BINARY = 0x2,
    WS_OPCODE_CLOSE = 0x8,
    WS_OPCODE_PING = 0x9,
    WS_OPCODE_PONG = 0xa,
} ws_opcode;

/* The side of the connection we are: it decides which frames are masked. */
typedef enum {
    WS_ROLE_CLIENT,
    WS_ROLE_SERVER,
} ws_role;

typedef enum {
    WS_OK = 0,
    WS_INCOMPLETE,                  /* more bytes are needed */
    /* a peer broke the framing rules: close with 1002 */
    WS_ERR_RESERVED_BITS,
    WS_ERR_UNKNOWN_OPCODE,
    WS_ERR_CONTROL_FRAGMENTED,
    WS_ERR_CONTROL_TOO_LONG,
    WS_ERR_UNMASKED_FRAME,          /* a server received an unmasked frame */
    WS_ERR_MASKED_FRAME,            /* a client received a masked frame */
    WS_ERR_LENGTH_TOP_BIT,          /* a 64-bit length with its top bit set */
    WS_ERR_UNEXPECTED_CONTINUATION, /* a continuation frame with no message open */
    WS_ERR_EXPECTED_CONTINUATION,   /* a new data frame inside a fragmented message */
    WS_ERR_CLOSE_PAYLOAD,           /* one byte, or a code not allowed in a frame */
    /* close with 1009 */
    WS_ERR_TOO_BIG,
    /* close with 1007 */
    WS_ERR_INVALID_UTF8,
    /* opening handshake: no close frame, the connection just fails */
    WS_ERR_HANDSHAKE_STATUS,    /* the response is not 101 */
    WS_ERR_HANDSHAKE_UPGRADE,   /* Upgrade, Connection, method, version or Host wrong or missing */
    WS_ERR_HANDSHAKE_ACCEPT,    /* Sec-WebSocket-Accept missing, repeated or wrong */
    WS_ERR_HANDSHAKE_PROTOCOL,  /* a subprotocol we did not offer, or more than one */
    WS_ERR_HANDSHAKE_EXTENSION, /* extensions we did not offer */
    WS_ERR_HANDSHAKE_VERSION,   /* not version 13: a server answers 426 */
    WS_ERR_HANDSHAKE_KEY,       /* Sec-WebSocket-Key missing, repeated, or not 16 bytes in base64 */
} ws_result;

/* The close code to send for a frame error (1002, 1009 or 1007); 0 for
 * WS_OK, WS_INCOMPLETE and handshake errors. */
uint16_t ws_close_code_for(ws_result result);

typedef struct {
    bool fin;
    ws_opcode opcode;
    bool masked;
    uint8_t mask_key[WS_MASK_KEY_LEN];
    uint64_t payload_len;
    size_t header_len; /* the payload starts this many bytes into the frame */
} ws_frame_header;

/* Writes the header of one frame: masked with mask_key (from random_bytes)
 * when mask_key is given, as a client must; unmasked when it is NULL, as a
 * server must. Lengths use the shortest form. Gives the header length, or
 * 0 for an unknown opcode, a fragmented or over-long control frame, or a
 * length of 2^63 or more. */
size_t ws_frame_header_write(uint8_t out[WS_MAX_HEADER_LEN], bool fin, ws_opcode opcode, uint64_t payload_len,
                             const uint8_t *mask_key);

/* Masks or unmasks payload bytes in place. offset is the position of data
 * within the payload, so a payload can be processed in pieces. */
void ws_mask(uint8_t *data, size_t len, const uint8_t mask_key[WS_MASK_KEY_LEN], uint64_t offset);

/* Reads the header of the frame at the start of buf (the bytes buffered so
 * far). WS_INCOMPLETE until the whole header is there; errors are reported
 * as soon as the bytes that show them arrive. Checks the masking rule of
 * role, and payload_len <= max_payload (else WS_ERR_TOO_BIG). */
ws_result ws_frame_header_parse(ws_frame_header *frame, const uint8_t *buf, size_t len, ws_role role,
                                uint64_t max_payload);

/* The fragmentation state of a connection's incoming data frames. */
typedef struct {
    ws_opcode opcode; /* TEXT or BINARY: the message the last data frame belongs to */
    bool open;        /* its final fragment is still to come */
} ws_message;

/* Checks a received frame against the message in progress (start with all
 * fields zero) and updates it; control frames may come between fragments
 * and leave it unchanged. */
ws_result ws_frame_sequence_check(ws_message *message, const ws_frame_header *frame);

/* Incremental UTF-8 validation for text messages that arrive in fragments. */
typedef struct {
    uint8_t pending;         /* continuation bytes still expected; 0xff once invalid */
    uint8_t next_min, next_max; /* the range the next continuation byte must fall in */
} ws_utf8;

void ws_utf8_init(ws_utf8 *utf8);
/* Gives false as soon as the bytes so far cannot begin valid UTF-8
 * (overlong forms, surrogates, code points above U+10FFFF), so invalid
 * text fails fast, and keeps failing. */
bool ws_utf8_feed(ws_utf8 *utf8, const uint8_t *data, size_t len);
/* True when all bytes fed form whole characters: check at the final fragment. */
bool ws_utf8_complete(const ws_utf8 *utf8);

/* Whether a close code may be sent in a close frame: 1000-1003, 1007-1014
 * (IANA registry) and 3000-4999. */
bool ws_close_code_valid(uint16_t code);
/* Reads an (unmasked) close payload. An empty one gives WS_CLOSE_NO_STATUS
 * and no reason. The reason points into payload. */
ws_result ws_close_parse(const uint8_t *payload, size_t len, uint16_t *code, const uint8_t **reason,
                         size_t *reason_len);
/* Writes a close payload; gives its length, or -1 when the code cannot be
 * sent or the reason is longer than WS_MAX_CLOSE_REASON or not UTF-8. */
int ws_close_build(uint8_t out[WS_MAX_CONTROL_PAYLOAD], uint16_t code, const uint8_t *reason,
                   size_t reason_len);

/* The opening handshake (RFC 6455 section 4), on the HTTP/1.1 head parser
 * and writers below. */
typedef struct http_head http_head;

/* Encodes the client's 16 random bytes as its Sec-WebSocket-Key. */
void ws_handshake_key(char key[WS_KEY_LEN + 1], const uint8_t nonce[WS_NONCE_LEN]);
/* The Sec-WebSocket-Accept a server derives from a key; fails unless the
 * key has WS_KEY_LEN characters. */
bool ws_handshake_accept(char accept[WS_ACCEPT_LEN + 1], const char *key, size_t key_len);

/* Client: writes the upgrade request. host is "name[:port]", path the
 * path and query; origin may be NULL; protocols, when not NULL, is a
 * comma-separated list of subprotocol tokens. Gives the length, or -1 when
 * out is too small or a value is not valid in a header. */
int ws_handshake_request_write(char *out, size_t cap, const char *host, const char *path, const char *origin,
                               const char *protocols, const char key[WS_KEY_LEN + 1]);
/* Client: checks the server's response head against our key and offered
 * protocols (NULL when none). Gives the selected subprotocol, pointing into
 * the response, with length 0 when the server chose none. */
ws_result ws_handshake_response_check(const http_head *response, const char key[WS_KEY_LEN + 1],
                                      const char *protocols, const char **protocol, size_t *protocol_len);

/* Server: checks an upgrade request; gives its key, pointing into it. */
ws_result ws_handshake_request_check(const http_head *request, const char **key, size_t *key_len);
/* Server: writes the 101 response for a checked key; protocol is the one
 * chosen from the request's list, or NULL. Gives the length, or -1. */
int ws_handshake_response_write(char *out, size_t cap, const char *key, size_t key_len, const char *protocol);

/* ---- HTTP/1.1 messages ---- */

/* Message syntax and framing (RFC 9112) for clients and servers: head
 * parsers and writers, the body-length decision, a chunked decoder. Heads
 * are parsed from the caller's buffer and point into it.
 *
 * Line ends: CRLF, or a bare LF in the start line and field lines (RFC 9112
 * section 2.2 allows it; real servers send it). A CR anywhere else is an
 * error, and the chunked framing lines need CRLF exactly. */

#define HTTP_DEFAULT_MAX_HEAD_LEN 65536
#define HTTP_DEFAULT_MAX_LINE_LEN 16384

typedef enum {
    HTTP_OK = 0,
    HTTP_INCOMPLETE,             /* more bytes are needed */
    HTTP_ERR_SYNTAX,             /* a malformed start line, field line or chunk frame */
    HTTP_ERR_VERSION,            /* not HTTP/1.x */
    HTTP_ERR_OBS_FOLD,           /* a field line continued on the next line */
    HTTP_ERR_LINE_TOO_LONG,
    HTTP_ERR_HEAD_TOO_LARGE,
    HTTP_ERR_TOO_MANY_HEADERS,
    HTTP_ERR_CONTENT_LENGTH,     /* invalid, overflowing, or differing values */
    HTTP_ERR_TRANSFER_ENCODING,  /* with Content-Length, in HTTP/1.0, or not ending in chunked in a request */
    HTTP_ERR_CHUNK_SIZE,         /* not hex, or above 2^64 - 1 */
    HTTP_ERR_CHUNK_TOO_LARGE,    /* above the caller's cap */
} http_result;

/* One field line: name as received, value without surrounding whitespace. */
typedef struct {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} http_header;

typedef struct http_head {
    /* limits: http_head_init sets the defaults; change them before parsing */
    size_t max_head_len;  /* start line to blank line, inclusive */
    size_t max_line_len;  /* without the line end */
    /* the result, pointing into the buffer of the call that returned HTTP_OK */
    int version_minor;    /* HTTP/1.<version_minor> */
    int status;           /* a response's status code, 100-999 */
    const char *reason;
    size_t reason_len;
    const char *method;   /* a request's method and target */
    size_t method_len;
    const char *target;
    size_t target_len;
    http_header *headers; /* the caller's array: every field in order, repeats kept */
    size_t header_cap;
    size_t header_count;
    size_t head_len;      /* bytes of the head, its blank line included */
    /* progress between calls */
    size_t scanned;
    size_t line_start;
    size_t line_count;
} http_head;

/* Prepares a head for parsing, with room for header_cap fields; again for
 * each new head. */
void http_head_init(http_head *head, http_header *headers, size_t header_cap);

/* Parse the head at the start of buf, the bytes received so far. Call
 * again with the same bytes and more after HTTP_INCOMPLETE; each byte is
 * examined once, and a malformed line fails as soon as it is complete. The
 * buffer may move between calls. On HTTP_OK, the body starts at
 * buf + head->head_len. */
http_result http_response_head_parse(http_head *head, const char *buf, size_t len);
http_result http_request_head_parse(http_head *head, const char *buf, size_t len);

/* Fields named name (ASCII case-insensitive), from *index on: gives the
 * next one and moves *index past it, or NULL. Start with *index = 0. */
const http_header *http_header_next(const http_head *head, const char *name, size_t *index);
/* The first field named name, or NULL. */
const http_header *http_header_find(const http_head *head, const char *name);
/* Whether any element of the comma-separated lists in the fields named
 * name equals token (case-insensitive), as for "Connection: upgrade". */
bool http_header_has_token(const http_head *head, const char *name, const char *token);
/* Whether s is a token (RFC 9110 section 5.6.2): a valid method, field
 * name or subprotocol name. */
bool http_token_valid(const char *s, size_t len);
/* Iterates the elements of a comma-separated list value, trimmed of
 * whitespace; empty elements are skipped. Start with *cursor = 0. */
bool http_list_next(const char *value, size_t len, size_t *cursor, const char **item, size_t *item_len);

/* How the body after a head is delimited (RFC 9112 section 6.3). */
typedef enum {
    HTTP_BODY_NONE,
    HTTP_BODY_LENGTH,      /* exactly length bytes */
    HTTP_BODY_CHUNKED,
    HTTP_BODY_UNTIL_CLOSE, /* responses only */
} http_body_kind;

typedef struct {
    http_body_kind kind;
    uint64_t length;
} http_body;

/* For a response to a request with request_method: none for HEAD, 1xx,
 * 204, 304 and a 2xx to CONNECT (the connection becomes a tunnel);
 * chunked when Transfer-Encoding ends in chunked, until close when it ends
 * in another coding; else Content-Length, else until close. Content-Length
 * with Transfer-Encoding is an error, as is Transfer-Encoding in HTTP/1.0.
 * Repeated Content-Length values must all be equal. */
http_result http_response_body_framing(const http_head *response, const char *request_method, http_body *body);
/* For a request: chunked, Content-Length, or none; Transfer-Encoding not
 * ending in chunked is an error. */
http_result http_request_body_framing(const http_head *request, http_body *body);

/* Decodes a chunked body (RFC 9112 section 7.1): chunk extensions are
 * ignored, trailer fields are parsed into trailers. */
typedef struct {
    uint64_t max_chunk_size;
    uint64_t remaining;   /* the chunk size being read, then the data left of it */
    size_t line_len;      /* of the chunk-size line so far, bounded by trailers.max_line_len */
    int state;
    http_result failure;  /* repeated once an error was found */
    http_head trailers;   /* the trailer section; its limits bound it */
} http_chunked;

/* Trailer fields beyond trailer_cap are HTTP_ERR_TOO_MANY_HEADERS. */
void http_chunked_init(http_chunked *chunked, uint64_t max_chunk_size, http_header *trailer_headers,
                       size_t trailer_cap);
/* Decodes from in, writing body bytes to out, which may be in itself (in
 * place: output never gets ahead of input) or must not overlap it. Sets
 * *consumed, the input bytes done with, and *out_len, the body bytes
 * written. Stops when out is full, the input is used up, or the body ends:
 * then it gives HTTP_OK, and the next message starts at in + *consumed.
 * Otherwise HTTP_INCOMPLETE: call again with the unconsumed input and more.
 * The trailers point into the input of the call that gave HTTP_OK. */
http_result http_chunked_decode(http_chunked *chunked, const char *in, size_t in_len, size_t *consumed, char *out,
                                size_t out_cap, size_t *out_len);

/* Write a head into out: the start line, the fields, the blank line.
 * Names must be tokens and values free of control characters (so no field
 * can be smuggled in); a request also gets Host first. Give the length, or
 * -1 when something is invalid or does not fit. */
int http_request_head_write(char *out, size_t cap, const char *method, const char *target, const char *host,
                            const http_header *headers, size_t count);
int http_response_head_write(char *out, size_t cap, int status, const char *reason, const http_header *headers,
                             size_t count);

#endif
