/* Key storage in the browser. The worker reads the client's records from
 * IndexedDB into Module.mixStorage before the core starts, so loading is
 * synchronous; saving updates that map and hands the record to the
 * worker's Module.mixStorageSave, which writes it back (sealed when the
 * application gave a passphrase). */
#include "platform/platform.h"

#include <emscripten.h>

EM_JS(int, web_storage_load, (const char *client_id, const char *name, uint8_t *out, size_t out_cap), {
    const records = Module.mixStorage;
    const key = UTF8ToString(client_id) + "/" + UTF8ToString(name);
    const bytes = records && records.get(key);
    if (!bytes || bytes.length > out_cap) return -1;
    HEAPU8.set(bytes, out);
    return bytes.length;
});

EM_JS(void, web_storage_save, (const char *client_id, const char *name, const uint8_t *data, size_t len), {
    if (!Module.mixStorage) Module.mixStorage = new Map();
    const id = UTF8ToString(client_id), record = UTF8ToString(name);
    const bytes = HEAPU8.slice(data, data + len);
    Module.mixStorage.set(id + "/" + record, bytes);
    if (Module.mixStorageSave) Module.mixStorageSave(id, record, bytes);
});

EM_JS(void, web_log, (const char *message), {
    if (Module.mixLog) Module.mixLog(UTF8ToString(message));
});

int platform_storage_load(const char *client_id, const char *name, uint8_t *out, size_t out_cap)
{
    return web_storage_load(client_id, name, out, out_cap);
}

void platform_storage_save(const char *client_id, const char *name, const uint8_t *data, size_t len)
{
    web_storage_save(client_id, name, data, len);
}

void platform_log(const char *message)
{
    web_log(message);
}
