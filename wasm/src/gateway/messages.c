/* Text (JSON) messages between client and gateway (gateway.md §6, §7, §10). */
#include "codec/codec.h"
#include "gateway/gateway.h"

#include <string.h>

static const struct {
    const char *name;
    gateway_message_type type;
} TYPE_NAMES[] = {
    {"handshakePayload", GATEWAY_MSG_HANDSHAKE_PAYLOAD},
    {"registerHandshakeInitRequest", GATEWAY_MSG_HANDSHAKE_PAYLOAD},
    {"handshakeError", GATEWAY_MSG_HANDSHAKE_ERROR},
    {"authenticateV2", GATEWAY_MSG_AUTHENTICATE_V2},
    {"claimFreeTestnetBandwidth", GATEWAY_MSG_CLAIM_FREE_BANDWIDTH},
    {"register", GATEWAY_MSG_REGISTER},
    {"authenticate", GATEWAY_MSG_AUTHENTICATE},
    {"send", GATEWAY_MSG_SEND},
    {"bandwidth", GATEWAY_MSG_BANDWIDTH},
    {"error", GATEWAY_MSG_ERROR},
    {"typedError", GATEWAY_MSG_OUT_OF_BANDWIDTH},
};

/* Optional fields keep their zero default when absent, as serde's defaults do. */
static bool get_u8(const json_value *obj, const char *key, uint8_t *out)
{
    json_value v;
    uint64_t n;
    if (!json_object_get(obj, key, &v)) return true;
    if (!json_as_u64(&v, &n) || n > 255) return false;
    *out = (uint8_t)n;
    return true;
}

static bool get_i64(const json_value *obj, const char *key, int64_t *out)
{
    json_value v;
    return !json_object_get(obj, key, &v) || json_as_i64(&v, out);
}

static bool get_bool(const json_value *obj, const char *key, bool *out)
{
    json_value v;
    return !json_object_get(obj, key, &v) || json_as_bool(&v, out);
}

static bool get_text(const json_value *obj, const char *key, char *out, size_t cap)
{
    json_value v;
    if (!json_object_get(obj, key, &v)) return true;
    if (v.type != JSON_STRING) return false;
    /* a message longer than we keep is cut short, not refused */
    if (!json_as_string(&v, out, cap, NULL)) {
        strncpy(out, "(message too long)", cap - 1);
        out[cap - 1] = '\0';
    }
    return true;
}

static bool get_exact_bytes(const json_value *obj, const char *key, uint8_t *out, size_t len)
{
    json_value v;
    size_t n;
    return json_object_get(obj, key, &v) && json_as_byte_array(&v, out, len, &n) && n == len;
}

static bool get_base64_exact(const json_value *obj, const char *key, uint8_t *out, size_t len)
{
    json_value v;
    char text[128];
    size_t text_len;
    return json_object_get(obj, key, &v) && json_as_string(&v, text, sizeof text, &text_len) &&
           base64_decode(out, len, text, text_len) == (int)len;
}

static bool parse_typed_error(gateway_message *msg, const json_value *root)
{
    json_value error, oob;
    if (!json_object_get(root, "error", &error)) return false;
    if (!json_object_get(&error, "out_of_bandwidth", &oob)) {
        /* other typed errors carry nothing we act on beyond the failure itself */
        msg->type = GATEWAY_MSG_ERROR;
        strcpy(msg->message, "typed error from the gateway");
        return true;
    }
    return get_i64(&oob, "required", &msg->required) && get_i64(&oob, "available", &msg->bandwidth);
}

int gateway_message_parse(gateway_message *msg, const char *text, size_t len)
{
    memset(msg, 0, sizeof *msg);
    json_value root, type;
    if (len > GATEWAY_MAX_TEXT_LEN || !json_parse(&root, text, len) || !json_object_get(&root, "type", &type))
        return GATEWAY_ERR_MALFORMED;
    if (json_string_equals(&type, "supportedProtocol")) {
        json_value version;
        msg->type = json_object_get(&root, "version", &version) ? GATEWAY_MSG_SUPPORTED_PROTOCOL
                                                                : GATEWAY_MSG_SUPPORTED_PROTOCOL_REQUEST;
        return get_u8(&root, "version", &msg->protocol_version) ? 0 : GATEWAY_ERR_MALFORMED;
    }
    for (size_t i = 0; i < sizeof TYPE_NAMES / sizeof TYPE_NAMES[0]; i++)
        if (json_string_equals(&type, TYPE_NAMES[i].name)) msg->type = TYPE_NAMES[i].type;

    bool ok = true;
    json_value v;
    switch (msg->type) {
    case GATEWAY_MSG_HANDSHAKE_PAYLOAD:
        ok = get_u8(&root, "protocol_version", &msg->protocol_version) && json_object_get(&root, "data", &v) &&
             json_as_byte_array(&v, msg->data, sizeof msg->data, &msg->data_len);
        break;
    case GATEWAY_MSG_HANDSHAKE_ERROR:
    case GATEWAY_MSG_ERROR:
        ok = get_text(&root, "message", msg->message, sizeof msg->message);
        break;
    case GATEWAY_MSG_AUTHENTICATE_V2:
        ok = get_u8(&root, "protocolVersion", &msg->protocol_version) &&
             get_exact_bytes(&root, "clientIdentity", msg->client_identity, 32) &&
             get_base64_exact(&root, "addressCiphertext", msg->address_ciphertext, GATEWAY_ADDRESS_CIPHERTEXT_LEN) &&
             get_base64_exact(&root, "nonce", msg->nonce, GATEWAY_NONCE_LEN) &&
             json_object_get(&root, "requestUnixTimestamp", &v) && json_as_u64(&v, &msg->timestamp) &&
             get_exact_bytes(&root, "requestSignature", msg->signature, 64);
        break;
    case GATEWAY_MSG_REGISTER:
        ok = get_u8(&root, "protocol_version", &msg->protocol_version) && get_bool(&root, "status", &msg->status) &&
             get_bool(&root, "upgrade_mode", &msg->upgrade_mode);
        break;
    case GATEWAY_MSG_AUTHENTICATE:
        ok = get_u8(&root, "protocol_version", &msg->protocol_version) && get_bool(&root, "status", &msg->status) &&
             get_i64(&root, "bandwidth_remaining", &msg->bandwidth) &&
             get_bool(&root, "upgrade_mode", &msg->upgrade_mode);
        break;
    case GATEWAY_MSG_SEND:
        ok = get_i64(&root, "remaining_bandwidth", &msg->bandwidth) &&
             get_bool(&root, "upgrade_mode", &msg->upgrade_mode);
        break;
    case GATEWAY_MSG_BANDWIDTH:
        ok = get_i64(&root, "available_total", &msg->bandwidth) && get_bool(&root, "upgrade_mode", &msg->upgrade_mode);
        break;
    case GATEWAY_MSG_OUT_OF_BANDWIDTH:
        ok = parse_typed_error(msg, &root);
        break;
    default:
        break;
    }
    return ok ? 0 : GATEWAY_ERR_MALFORMED;
}

static const char *type_name(gateway_message_type type)
{
    switch (type) {
    case GATEWAY_MSG_SUPPORTED_PROTOCOL_REQUEST:
    case GATEWAY_MSG_SUPPORTED_PROTOCOL: return "supportedProtocol";
    case GATEWAY_MSG_OUT_OF_BANDWIDTH: return "typedError";
    default:
        for (size_t i = 0; i < sizeof TYPE_NAMES / sizeof TYPE_NAMES[0]; i++)
            if (TYPE_NAMES[i].type == type) return TYPE_NAMES[i].name;
        return NULL;
    }
}

static void write_base64(json_writer *w, const uint8_t *bytes, size_t len)
{
    char text[BASE64_ENCODED_LEN(GATEWAY_ADDRESS_CIPHERTEXT_LEN) + 1];
    int n = base64_encode(text, sizeof text, bytes, len);
    json_write_string(w, text, n > 0 ? (size_t)n : 0);
}

int gateway_message_write(const gateway_message *msg, char *out, size_t out_cap)
{
    const char *name = type_name(msg->type);
    if (!name) return GATEWAY_ERR_MALFORMED;
    json_writer w;
    json_writer_init(&w, out, out_cap);
    json_object_begin(&w);
    json_key(&w, "type");
    json_write_cstring(&w, name);
    switch (msg->type) {
    case GATEWAY_MSG_SUPPORTED_PROTOCOL:
        json_key(&w, "version");
        json_write_u64(&w, msg->protocol_version);
        break;
    case GATEWAY_MSG_HANDSHAKE_PAYLOAD:
        json_key(&w, "protocol_version");
        json_write_u64(&w, msg->protocol_version);
        json_key(&w, "data");
        json_write_byte_array(&w, msg->data, msg->data_len);
        break;
    case GATEWAY_MSG_HANDSHAKE_ERROR:
    case GATEWAY_MSG_ERROR:
        json_key(&w, "message");
        json_write_cstring(&w, msg->message);
        break;
    case GATEWAY_MSG_AUTHENTICATE_V2:
        json_key(&w, "protocolVersion");
        json_write_u64(&w, msg->protocol_version);
        json_key(&w, "clientIdentity");
        json_write_byte_array(&w, msg->client_identity, 32);
        json_key(&w, "addressCiphertext");
        write_base64(&w, msg->address_ciphertext, GATEWAY_ADDRESS_CIPHERTEXT_LEN);
        json_key(&w, "nonce");
        write_base64(&w, msg->nonce, GATEWAY_NONCE_LEN);
        json_key(&w, "requestUnixTimestamp");
        json_write_u64(&w, msg->timestamp);
        json_key(&w, "requestSignature");
        json_write_byte_array(&w, msg->signature, 64);
        break;
    case GATEWAY_MSG_REGISTER:
    case GATEWAY_MSG_AUTHENTICATE:
        json_key(&w, "protocol_version");
        json_write_u64(&w, msg->protocol_version);
        json_key(&w, "status");
        json_write_bool(&w, msg->status);
        if (msg->type == GATEWAY_MSG_AUTHENTICATE) {
            json_key(&w, "bandwidth_remaining");
            json_write_i64(&w, msg->bandwidth);
        }
        json_key(&w, "upgrade_mode");
        json_write_bool(&w, msg->upgrade_mode);
        break;
    case GATEWAY_MSG_SEND:
    case GATEWAY_MSG_BANDWIDTH:
        json_key(&w, msg->type == GATEWAY_MSG_SEND ? "remaining_bandwidth" : "available_total");
        json_write_i64(&w, msg->bandwidth);
        json_key(&w, "upgrade_mode");
        json_write_bool(&w, msg->upgrade_mode);
        break;
    case GATEWAY_MSG_OUT_OF_BANDWIDTH:
        json_key(&w, "error");
        json_object_begin(&w);
        json_key(&w, "out_of_bandwidth");
        json_object_begin(&w);
        json_key(&w, "required");
        json_write_i64(&w, msg->required);
        json_key(&w, "available");
        json_write_i64(&w, msg->bandwidth);
        json_object_end(&w);
        json_object_end(&w);
        break;
    default:
        break;
    }
    json_object_end(&w);
    int len = json_writer_finish(&w);
    return len < 0 ? GATEWAY_ERR_SPACE : len;
}
