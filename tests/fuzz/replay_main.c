/* Corpus replay: feeds every file of the directories (or files) given on the command line to the
 * fuzz target's LLVMFuzzerTestOneInput, once each, in name order, so the committed corpus
 * (tests/fuzz/corpus/<target>/: seeds and every crash ever found) runs in the normal build under
 * ctest, without libFuzzer. A crash or abort fails the test; so does an empty or missing corpus.
 * Each input is copied into a buffer of exactly its size, so an over-read can be caught by
 * AddressSanitizer builds (make asan-test). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the whole file into a malloc'd buffer of exactly its size (1 byte for an empty file). */
static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    struct stat st;
    uint8_t *data;
    if (!fp)
        return NULL;
    if (fstat(fileno(fp), &st) != 0 || st.st_size < 0 || !(data = malloc(st.st_size ? (size_t)st.st_size : 1))) {
        fclose(fp);
        return NULL;
    }
    *size = (size_t)st.st_size;
    if (fread(data, 1, *size, fp) != *size) {
        free(data);
        data = NULL;
    }
    fclose(fp);
    return data;
}

static int run_one(const char *path)
{
    size_t size = 0;
    uint8_t *data = read_file(path, &size);
    if (!data) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int only_files(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    long count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_one(argv[i]) != 0)
                return 1;
            count++;
            continue;
        }
        struct dirent **names;
        int n = scandir(argv[i], &names, only_files, by_name);
        if (n < 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        int rc = 0;
        for (int k = 0; k < n; k++) {
            char path[4096];
            if (rc == 0 && (size_t)snprintf(path, sizeof path, "%s/%s", argv[i], names[k]->d_name) < sizeof path)
                rc = run_one(path) != 0 ? -1 : (count++, 0);
            free(names[k]);
        }
        free(names);
        if (rc != 0)
            return 1;
    }
    if (count == 0) {
        fprintf(stderr, "replay: no inputs (a fuzz target needs a seed corpus under tests/fuzz/corpus/<target>/)\n");
        return 1;
    }
    fprintf(stderr, "replay: %ld inputs, no crash\n", count);
    return 0;
}
