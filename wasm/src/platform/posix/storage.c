/* Native storage: one file per record in <dir>/<client id>/<name>. */
#define _POSIX_C_SOURCE 200809L
#include "platform/platform.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static char storage_dir[256] = "build/storage";

void platform_set_storage_dir(const char *dir)
{
    snprintf(storage_dir, sizeof storage_dir, "%s", dir);
}

/* Names come from the core, but the client id comes from the application:
 * refuse anything that could leave the storage folder. */
static bool safe_component(const char *s)
{
    if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return false;
    return strchr(s, '/') == NULL;
}

static bool record_path(char *out, size_t cap, const char *client_id, const char *name)
{
    if (!safe_component(client_id) || !safe_component(name)) return false;
    int n = snprintf(out, cap, "%s/%s/%s", storage_dir, client_id, name);
    return n > 0 && (size_t)n < cap;
}

int platform_storage_load(const char *client_id, const char *name, uint8_t *out, size_t out_cap)
{
    char path[512];
    if (!record_path(path, sizeof path, client_id, name)) return -1;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(out, 1, out_cap, f);
    bool larger = fgetc(f) != EOF;
    fclose(f);
    return larger ? -1 : (int)n;
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) perror(path);
}

void platform_storage_save(const char *client_id, const char *name, const uint8_t *data, size_t len)
{
    char path[512], tmp[520];
    if (!record_path(path, sizeof path, client_id, name)) return;
    make_dir(storage_dir);
    char client_dir[512];
    snprintf(client_dir, sizeof client_dir, "%s/%s", storage_dir, client_id);
    make_dir(client_dir);
    /* write then rename, so a crash never leaves half a key */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(tmp);
        return;
    }
    if (rename(tmp, path) != 0) perror(path);
}
