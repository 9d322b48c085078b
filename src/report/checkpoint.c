#include "clgan/checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const char MAGIC[8] = {'C', 'L', 'G', 'A', 'N', 'C', 'K', 'P'};

/* A growable byte buffer: the file is assembled in memory, checksummed,
 * then written in one go. */
typedef struct bytes {
  unsigned char *data;
  size_t len, cap;
  int failed;
} bytes;

static void put(bytes *b, const void *src, size_t n) {
  if (b->failed)
    return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
      cap *= 2;
    unsigned char *grown = realloc(b->data, cap);
    if (!grown) {
      b->failed = 1;
      return;
    }
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, src, n);
  b->len += n;
}

static void put_u32(bytes *b, uint32_t v) { put(b, &v, sizeof v); }
static void put_u64(bytes *b, uint64_t v) { put(b, &v, sizeof v); }

static clgan_status put_network(bytes *b, clgan_mlp *net, clgan_error *err) {
  size_t n = net->n_params;
  float *host = malloc((n ? n : 1) * sizeof(float));
  if (!host)
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory writing a checkpoint");
  clgan_buffer *parts[3] = {net->params, net->moment1, net->moment2};
  clgan_status st = CLGAN_OK;
  for (int i = 0; i < 3 && st == CLGAN_OK; ++i) {
    st = net->be->ops->read(net->be, parts[i], 0, n, host, err);
    put(b, host, n * sizeof(float));
  }
  free(host);
  return st;
}

static clgan_status write_atomically(const char *path, const bytes *b, clgan_error *err) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "wb");
  if (!f)
    return clgan_fail(err, CLGAN_E_RUNTIME, "cannot write checkpoint '%s': %s", tmp,
                      strerror(errno));
  int ok = fwrite(b->data, 1, b->len, f) == b->len;
  ok = fflush(f) == 0 && ok;
  ok = fsync(fileno(f)) == 0 && ok;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    int e = errno;
    remove(tmp);
    return clgan_fail(err, CLGAN_E_RUNTIME, "cannot write checkpoint '%s': %s", path, strerror(e));
  }
  return CLGAN_OK;
}

clgan_status clgan_checkpoint_save(const char *path, clgan_gan *gan, clgan_error *err) {
  char *yaml = clgan_config_to_yaml(&gan->cfg);
  if (!yaml)
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory writing a checkpoint");
  bytes b = {0};
  put(&b, MAGIC, sizeof MAGIC);
  put_u32(&b, CLGAN_CHECKPOINT_VERSION);
  put_u32(&b, 0);
  put_u64(&b, strlen(yaml));
  put(&b, yaml, strlen(yaml));
  free(yaml);
  put_u64(&b, gan->step);
  put_u64(&b, gan->g.n_params);
  put_u64(&b, gan->d.n_params);
  clgan_status st = put_network(&b, &gan->g, err);
  if (st == CLGAN_OK)
    st = put_network(&b, &gan->d, err);
  if (st == CLGAN_OK && !b.failed)
    put_u32(&b, (uint32_t)crc32(0L, b.data, (uInt)b.len));
  if (st == CLGAN_OK && b.failed)
    st = clgan_fail(err, CLGAN_E_RUNTIME, "out of memory writing a checkpoint");
  if (st == CLGAN_OK)
    st = write_atomically(path, &b, err);
  free(b.data);
  return st;
}

/* A cursor over the file's bytes that refuses to read past the end. */
typedef struct reader {
  const unsigned char *data;
  size_t len, pos;
} reader;

static int take(reader *r, void *dst, size_t n) {
  if (n > r->len - r->pos)
    return 0;
  memcpy(dst, r->data + r->pos, n);
  r->pos += n;
  return 1;
}

static clgan_status read_file(const char *path, unsigned char **data, size_t *len,
                              clgan_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return clgan_fail(err, CLGAN_E_INPUT, "cannot read checkpoint '%s': %s", path,
                      strerror(errno));
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap)
      break;
    unsigned char *grown = realloc(buf, cap * 2);
    if (!grown) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = grown;
    cap *= 2;
  }
  int failed = ferror(f);
  fclose(f);
  if (!buf || failed) {
    free(buf);
    return clgan_fail(err, CLGAN_E_INPUT, "cannot read checkpoint '%s'", path);
  }
  *data = buf;
  *len = n;
  return CLGAN_OK;
}

static clgan_status bad(clgan_error *err, const char *path, const char *what) {
  return clgan_fail(err, CLGAN_E_INPUT, "checkpoint '%s' is not usable: %s", path, what);
}

static clgan_status parse(const char *path, reader *r, clgan_checkpoint *ck, clgan_error *err) {
  char magic[8];
  uint32_t version, reserved, stored_crc;
  uint64_t yaml_len;
  if (r->len < sizeof MAGIC + 4 || memcmp(r->data, MAGIC, sizeof MAGIC) != 0)
    return bad(err, path, "not a clgan checkpoint (wrong magic bytes)");
  memcpy(&stored_crc, r->data + r->len - 4, 4);
  if (!take(r, magic, 8) || !take(r, &version, 4) || !take(r, &reserved, 4))
    return bad(err, path, "truncated header");
  if (version != CLGAN_CHECKPOINT_VERSION)
    return clgan_fail(err, CLGAN_E_INPUT,
                      "checkpoint '%s' has format version %u; this clgan reads version %u", path,
                      version, CLGAN_CHECKPOINT_VERSION);
  if (r->len < 4 + 16 || (uint32_t)crc32(0L, r->data, (uInt)(r->len - 4)) != stored_crc)
    return bad(err, path, "checksum mismatch (the file is truncated or corrupted)");
  r->len -= 4; /* the checksum is not payload */
  if (!take(r, &yaml_len, 8) || yaml_len > r->len - r->pos)
    return bad(err, path, "truncated config section");
  ck->config_yaml = malloc(yaml_len + 1);
  if (!ck->config_yaml || !take(r, ck->config_yaml, yaml_len))
    return bad(err, path, "cannot read the config section");
  ck->config_yaml[yaml_len] = '\0';
  if (!take(r, &ck->step, 8) || !take(r, &ck->n_g, 8) || !take(r, &ck->n_d, 8))
    return bad(err, path, "truncated network header");
  uint64_t floats = 3 * (ck->n_g + ck->n_d);
  if (ck->n_g > r->len || ck->n_d > r->len || floats * sizeof(float) != r->len - r->pos)
    return bad(err, path, "network sizes do not match the file length");
  ck->g_state = malloc((3 * ck->n_g + 1) * sizeof(float));
  ck->d_state = malloc((3 * ck->n_d + 1) * sizeof(float));
  if (!ck->g_state || !ck->d_state)
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory reading checkpoint '%s'", path);
  take(r, ck->g_state, 3 * ck->n_g * sizeof(float));
  take(r, ck->d_state, 3 * ck->n_d * sizeof(float));
  char source[4200];
  snprintf(source, sizeof source, "%s (embedded config)", path);
  return clgan_config_load_string(ck->config_yaml, yaml_len, source, NULL, 0, &ck->cfg, err);
}

clgan_status clgan_checkpoint_load(const char *path, clgan_checkpoint *ck, clgan_error *err) {
  memset(ck, 0, sizeof *ck);
  unsigned char *data = NULL;
  size_t len = 0;
  CLGAN_TRY(read_file(path, &data, &len, err));
  reader r = {data, len, 0};
  clgan_status st = parse(path, &r, ck, err);
  free(data);
  if (st != CLGAN_OK)
    clgan_checkpoint_free(ck);
  return st;
}

void clgan_checkpoint_free(clgan_checkpoint *ck) {
  free(ck->config_yaml);
  free(ck->g_state);
  free(ck->d_state);
  memset(ck, 0, sizeof *ck);
}

static clgan_status restore_network(const float *state, uint64_t n, clgan_mlp *net,
                                    const char *which, clgan_error *err) {
  if (n != net->n_params)
    return clgan_fail(err, CLGAN_E_INPUT,
                      "checkpoint %s has %llu parameters but its config builds %zu", which,
                      (unsigned long long)n, net->n_params);
  clgan_buffer *parts[3] = {net->params, net->moment1, net->moment2};
  for (int i = 0; i < 3; ++i)
    CLGAN_TRY(net->be->ops->write(net->be, parts[i], 0, n, state + (size_t)i * n, err));
  return CLGAN_OK;
}

clgan_status clgan_checkpoint_restore(const clgan_checkpoint *ck, clgan_gan *gan,
                                      clgan_error *err) {
  CLGAN_TRY(restore_network(ck->g_state, ck->n_g, &gan->g, "generator", err));
  CLGAN_TRY(restore_network(ck->d_state, ck->n_d, &gan->d, "discriminator", err));
  gan->step = ck->step;
  return CLGAN_OK;
}
