/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the peer batch decoder; without libFuzzer, a main() that replays the corpus. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes, and for what decodes checks that the encoding is canonical: encoding the
 * result succeeds, decodes again, and encodes to the same bytes. Anything the
 * decoder accepts must be something the encoder can send. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        WireBatch a = WIRE_BATCH_NULL, b = WIRE_BATCH_NULL;
        char *x = NULL, *y = NULL;
        size_t nx = 0, ny = 0;
        NetError err = {};

        if (wire_batch_decode(data, size, &a, &err) < 0) {
                /* Every refusal says why. */
                if (!err.text[0])
                        abort();
                return 0;
        }

        if (wire_batch_encode(&a.header, a.msgs, a.n_msgs, &x, &nx, &err) < 0) {
                fprintf(stderr, "decoded batch does not encode: %s\n", err.text);
                abort();
        }
        if (wire_batch_decode(x, nx, &b, &err) < 0) {
                fprintf(stderr, "encoded batch does not decode: %s\n", err.text);
                abort();
        }
        if (wire_batch_encode(&b.header, b.msgs, b.n_msgs, &y, &ny, &err) < 0 || nx != ny || memcmp(x, y, nx) != 0) {
                fprintf(stderr, "encoding is not canonical\n");
                abort();
        }

        free(x);
        free(y);
        wire_batch_done(&a);
        wire_batch_done(&b);
        return 0;
}

#ifndef PES_LIBFUZZER
/* Replays every file in the directories or files given. Files named "valid-*" are
 * seeds that must decode, so the corpus follows the format as it evolves. */
static int replay_file(const char *path, const char *name) {
        WireBatch b = WIRE_BATCH_NULL;
        NetError err = {};
        uint8_t *data = NULL;
        size_t size = 0;
        FILE *f;
        long n;

        f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
                fclose(f);
                return -EIO;
        }
        size = (size_t) n;
        data = malloc(size > 0 ? size : 1);
        if (!data || fread(data, 1, size, f) != size) {
                free(data);
                fclose(f);
                return -EIO;
        }
        fclose(f);

        (void) LLVMFuzzerTestOneInput(data, size);

        if (strncmp(name, "valid-", 6) == 0) {
                if (wire_batch_decode(data, size, &b, &err) < 0) {
                        fprintf(stderr, "%s: seed does not decode: %s\n", path, err.text);
                        free(data);
                        return -EBADMSG;
                }
                wire_batch_done(&b);
        }
        free(data);
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned files = 0;
        int ret = 0;

        for (int i = 1; i < argc; i++) {
                DIR *d = opendir(argv[i]);
                struct dirent *de;

                if (!d) {
                        const char *slash = strrchr(argv[i], '/');
                        if (replay_file(argv[i], slash ? slash + 1 : argv[i]) < 0)
                                ret = 1;
                        files++;
                        continue;
                }
                while ((de = readdir(d))) {
                        char path[4096];

                        if (de->d_name[0] == '.')
                                continue;
                        (void) snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
                        if (replay_file(path, de->d_name) < 0)
                                ret = 1;
                        files++;
                }
                closedir(d);
        }
        if (files == 0) {
                fprintf(stderr, "no corpus files given\n");
                return 1;
        }
        printf("replayed %u inputs\n", files);
        return ret;
}
#endif
