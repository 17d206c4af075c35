/* Fuzzes the config file parser and the value parsers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loupe/core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/loupe-config-fuzz-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    lp_config cfg;
    lp_error err;
    lp_error_clear(&err);
    lp_config_load(&cfg, path, NULL, &err);
    lp_config_free(&cfg);
    unlink(path);

    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t v;
    int b;
    lp_parse_size(s, &v);
    lp_parse_duration_ms(s, &v);
    lp_parse_bool(s, &b);
    free(s);
    return 0;
}
