/* Checkpoint files (format in include/clgan/checkpoint.h): assembled in
 * memory, checksummed, written to a temporary name and renamed; read back
 * with every field checked before anything is trusted. */
#include "clgan/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const char MAGIC[8] = {'C', 'L', 'G', 'A', 'N', 'C', 'K', 'P'};

/* Offset of the u64 file length: after magic, version and flags. */
#define LENGTH_OFFSET 16

static uint64_t fnv1a64(const void *data, size_t n) {
  const unsigned char *p = data;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

/* --- network shapes */

static void add_layer(clgan_net_shape *s, uint32_t kind, uint64_t in, uint64_t out,
                      uint64_t n_params) {
  clgan_layer_shape *l = &s->layers[s->n_layers++];
  l->kind = kind;
  l->in_dim = in;
  l->out_dim = out;
  l->n_params = n_params;
}

void clgan_net_shape_of_mlp(const clgan_mlp *mlp, clgan_net_shape *shape) {
  memset(shape, 0, sizeof *shape);
  for (size_t i = 0; i < mlp->n_layers && i < CLGAN_MAX_LAYERS + 1; ++i) {
    const clgan_layer *l = &mlp->layers[i];
    add_layer(shape, (uint32_t)l->cfg.kind, l->in_dim, l->out_dim, l->n_params);
  }
}

/* The same rules as the MLP builder (src/nn/mlp.c), without allocating:
 * test_resume checks the two agree. */
static void shape_of_config(const clgan_network_config *net, size_t in_dim, size_t out_dim,
                            clgan_net_shape *shape) {
  memset(shape, 0, sizeof *shape);
  uint64_t width = in_dim;
  size_t hidden = net->n_layers < CLGAN_MAX_LAYERS ? net->n_layers : CLGAN_MAX_LAYERS;
  for (size_t i = 0; i < hidden; ++i) {
    const clgan_layer_config *l = &net->layers[i];
    if (l->kind == CLGAN_LAYER_MINIBATCH) {
      uint64_t out = width + l->mbd.kernels;
      add_layer(shape, CLGAN_LAYER_MINIBATCH, width, out,
                width * l->mbd.kernels * l->mbd.kernel_dim);
      width = out;
    } else {
      add_layer(shape, CLGAN_LAYER_DENSE, width, l->units, width * l->units + l->units);
      width = l->units;
    }
  }
  add_layer(shape, CLGAN_LAYER_DENSE, width, out_dim, width * out_dim + out_dim);
}

void clgan_gan_shapes_of_config(const clgan_config *cfg, clgan_net_shape *g, clgan_net_shape *d) {
  shape_of_config(&cfg->generator, cfg->noise.dim, cfg->data.dim, g);
  shape_of_config(&cfg->discriminator, cfg->data.dim, 1, d);
}

static bool same_shape(const clgan_net_shape *a, const clgan_net_shape *b) {
  if (a->n_layers != b->n_layers)
    return false;
  for (uint32_t i = 0; i < a->n_layers; ++i) {
    const clgan_layer_shape *x = &a->layers[i], *y = &b->layers[i];
    if (x->kind != y->kind || x->in_dim != y->in_dim || x->out_dim != y->out_dim ||
        x->n_params != y->n_params)
      return false;
  }
  return true;
}

static uint64_t shape_params(const clgan_net_shape *s) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < s->n_layers; ++i)
    n += s->layers[i].n_params;
  return n;
}

void clgan_net_shape_format(const clgan_net_shape *shape, char *buf, size_t size) {
  size_t used = 0;
  if (size)
    buf[0] = '\0';
  for (uint32_t i = 0; i < shape->n_layers && used < size; ++i) {
    const clgan_layer_shape *l = &shape->layers[i];
    int n = snprintf(buf + used, size - used, "%s%s %llu->%llu (%llu params)", i ? ", " : "",
                     l->kind == CLGAN_LAYER_MINIBATCH ? "minibatch" : "dense",
                     (unsigned long long)l->in_dim, (unsigned long long)l->out_dim,
                     (unsigned long long)l->n_params);
    if (n < 0)
      break;
    used += (size_t)n;
  }
}

/* --- writing */

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

static void put_u32(bytes *b, uint32_t v) {
  put(b, &v, sizeof v);
}
static void put_u64(bytes *b, uint64_t v) {
  put(b, &v, sizeof v);
}

static void put_shape(bytes *b, const clgan_net_shape *s) {
  put_u32(b, s->n_layers);
  put_u32(b, 0);
  for (uint32_t i = 0; i < s->n_layers; ++i) {
    put_u32(b, s->layers[i].kind);
    put_u32(b, 0);
    put_u64(b, s->layers[i].in_dim);
    put_u64(b, s->layers[i].out_dim);
    put_u64(b, s->layers[i].n_params);
  }
}

/* Syncing the directory makes the rename itself durable; file systems that
 * cannot sync a directory lose nothing but that guarantee, so failures are
 * ignored. */
static void sync_parent_dir(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == dir)
    dir[1] = '\0';
  else if (slash)
    *slash = '\0';
  else
    snprintf(dir, sizeof dir, ".");
  int fd = open(dir, O_RDONLY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

static clgan_status write_atomically(const char *path, const bytes *b, clgan_error *err) {
  char tmp[4200];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return clgan_fail(err, CLGAN_E_INPUT, "checkpoint path too long: '%s'", path);
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
  sync_parent_dir(path);
  return CLGAN_OK;
}

/* First non-finite value of n floats, or n. */
static size_t first_nonfinite(const float *x, size_t n, size_t *count) {
  size_t first = n;
  *count = 0;
  for (size_t i = 0; i < n; ++i)
    if (!isfinite(x[i])) {
      if (first == n)
        first = i;
      ++*count;
    }
  return first;
}

bool clgan_checkpoint_is_finite(const clgan_checkpoint *ck, char *what, size_t size) {
  static const char *const parts[3] = {"weights", "optimizer state (first moments)",
                                       "optimizer state (second moments)"};
  const struct {
    const char *name;
    const float *state;
    uint64_t n;
  } nets[2] = {{"generator", ck->g_state, ck->n_g}, {"discriminator", ck->d_state, ck->n_d}};
  bool finite = true;
  size_t used = 0;
  if (what && size)
    what[0] = '\0';
  /* Per network, the first bad part: weights before moments, since bad
   * weights are what a user sees; NaN spreads from one network to the
   * other within a step, so both are named when both are hit. */
  for (int k = 0; k < 2; ++k)
    for (int part = 0; part < 3; ++part) {
      size_t n = (size_t)nets[k].n, count;
      const float *x = nets[k].state + (size_t)part * n;
      size_t i = first_nonfinite(x, n, &count);
      if (i == n)
        continue;
      if (what && used < size) {
        int w = snprintf(what + used, size - used,
                         "%s%s %s %s not finite (%zu of %zu values; index %zu is %g)",
                         finite ? "" : ", and ", nets[k].name, parts[part], part ? "is" : "are",
                         count, n, i, (double)x[i]);
        used += w > 0 ? (size_t)w : 0;
      }
      finite = false;
      break;
    }
  return finite;
}

clgan_status clgan_checkpoint_write(const char *path, const clgan_checkpoint *ck,
                                    clgan_error *err) {
  char what[256];
  if (!clgan_checkpoint_is_finite(ck, what, sizeof what))
    return clgan_fail(err, CLGAN_E_RUNTIME, "refusing to write checkpoint '%s': %s", path, what);
  char *owned = ck->config_yaml ? NULL : clgan_config_to_yaml(&ck->cfg);
  const char *yaml = ck->config_yaml ? ck->config_yaml : owned;
  if (!yaml)
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory writing a checkpoint");
  size_t yaml_len = strlen(yaml);
  bytes b = {0};
  put(&b, MAGIC, sizeof MAGIC);
  put_u32(&b, CLGAN_CHECKPOINT_VERSION);
  put_u32(&b, 0);
  put_u64(&b, 0); /* file length, patched below */
  put_u64(&b, fnv1a64(yaml, yaml_len));
  put_u64(&b, ck->step);
  put_shape(&b, &ck->g_shape);
  put_shape(&b, &ck->d_shape);
  put_u64(&b, yaml_len);
  put(&b, yaml, yaml_len);
  free(owned);
  put_u64(&b, ck->n_g);
  put_u64(&b, ck->n_d);
  put(&b, ck->g_state, 3 * ck->n_g * sizeof(float));
  put(&b, ck->d_state, 3 * ck->n_d * sizeof(float));
  clgan_status st = CLGAN_OK;
  if (b.failed) {
    st = clgan_fail(err, CLGAN_E_RUNTIME, "out of memory writing a checkpoint");
  } else {
    uint64_t total = b.len + 4;
    memcpy(b.data + LENGTH_OFFSET, &total, sizeof total);
    put_u32(&b, (uint32_t)crc32(0L, b.data, (uInt)b.len));
    st = b.failed ? clgan_fail(err, CLGAN_E_RUNTIME, "out of memory writing a checkpoint")
                  : write_atomically(path, &b, err);
  }
  free(b.data);
  return st;
}

static clgan_status read_network(clgan_mlp *net, float *dst, clgan_error *err) {
  size_t n = net->n_params;
  clgan_buffer *parts[3] = {net->params, net->moment1, net->moment2};
  for (int i = 0; i < 3; ++i)
    if (n)
      CLGAN_TRY(net->be->ops->read(net->be, parts[i], 0, n, dst + (size_t)i * n, err));
  return CLGAN_OK;
}

clgan_status clgan_checkpoint_capture(clgan_gan *gan, clgan_checkpoint *ck, clgan_error *err) {
  memset(ck, 0, sizeof *ck);
  ck->cfg = gan->cfg;
  ck->step = gan->step;
  clgan_net_shape_of_mlp(&gan->g, &ck->g_shape);
  clgan_net_shape_of_mlp(&gan->d, &ck->d_shape);
  ck->n_g = gan->g.n_params;
  ck->n_d = gan->d.n_params;
  ck->g_state = malloc((3 * ck->n_g + 1) * sizeof(float));
  ck->d_state = malloc((3 * ck->n_d + 1) * sizeof(float));
  clgan_status st = ck->g_state && ck->d_state
                        ? CLGAN_OK
                        : clgan_fail(err, CLGAN_E_RUNTIME, "out of memory capturing a checkpoint");
  if (st == CLGAN_OK)
    st = read_network(&gan->g, ck->g_state, err);
  if (st == CLGAN_OK)
    st = read_network(&gan->d, ck->d_state, err);
  if (st != CLGAN_OK)
    clgan_checkpoint_free(ck);
  return st;
}

clgan_status clgan_checkpoint_save(const char *path, clgan_gan *gan, clgan_error *err) {
  clgan_checkpoint ck;
  CLGAN_TRY(clgan_checkpoint_capture(gan, &ck, err));
  clgan_status st = clgan_checkpoint_write(path, &ck, err);
  clgan_checkpoint_free(&ck);
  return st;
}

/* --- reading */

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
    return clgan_fail(err, CLGAN_E_INPUT, "cannot read checkpoint '%s': %s", path, strerror(errno));
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
  int failed = ferror(f), read_errno = errno;
  fclose(f);
  if (!buf) {
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory reading checkpoint '%s'", path);
  }
  if (failed) {
    free(buf);
    return clgan_fail(err, CLGAN_E_INPUT, "cannot read checkpoint '%s': %s", path,
                      strerror(read_errno));
  }
  *data = buf;
  *len = n;
  return CLGAN_OK;
}

static clgan_status bad(clgan_error *err, const char *path, const char *fmt, ...)
    CLGAN_PRINTF(3, 4);
static clgan_status bad(clgan_error *err, const char *path, const char *fmt, ...) {
  char what[1536];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return clgan_fail(err, CLGAN_E_INPUT, "checkpoint '%s' is not usable: %s", path, what);
}

static int take_shape(reader *r, clgan_net_shape *s) {
  uint32_t n, pad;
  memset(s, 0, sizeof *s);
  if (!take(r, &n, 4) || !take(r, &pad, 4) || n == 0 || n > CLGAN_MAX_LAYERS + 1)
    return 0;
  for (uint32_t i = 0; i < n; ++i) {
    clgan_layer_shape *l = &s->layers[i];
    if (!take(r, &l->kind, 4) || !take(r, &pad, 4) || !take(r, &l->in_dim, 8) ||
        !take(r, &l->out_dim, 8) || !take(r, &l->n_params, 8))
      return 0;
    if (l->kind > CLGAN_LAYER_MINIBATCH)
      return 0;
  }
  s->n_layers = n;
  return 1;
}

/* Magic, version, length and checksum: is this an intact file we read? */
static clgan_status check_envelope(const char *path, reader *r, clgan_error *err) {
  char magic[8];
  uint32_t version, flags, stored_crc;
  uint64_t file_len;
  if (r->len < sizeof MAGIC || memcmp(r->data, MAGIC, sizeof MAGIC) != 0)
    return bad(err, path, "not a clgan checkpoint (wrong magic bytes)");
  if (!take(r, magic, 8) || !take(r, &version, 4) || !take(r, &flags, 4))
    return bad(err, path, "truncated header (%zu bytes)", r->len);
  if (version != CLGAN_CHECKPOINT_VERSION)
    return clgan_fail(err, CLGAN_E_INPUT,
                      "checkpoint '%s' has format version %u; this clgan reads version %u", path,
                      version, CLGAN_CHECKPOINT_VERSION);
  if (!take(r, &file_len, 8))
    return bad(err, path, "truncated header (%zu bytes)", r->len);
  if (file_len > r->len)
    return bad(err, path, "truncated: %zu of its %llu bytes are there", r->len,
               (unsigned long long)file_len);
  if (file_len < r->len)
    return bad(err, path, "%zu bytes where its header says %llu (data appended?)", r->len,
               (unsigned long long)file_len);
  if (r->len < r->pos + 4)
    return bad(err, path, "truncated header (%zu bytes)", r->len);
  memcpy(&stored_crc, r->data + r->len - 4, 4);
  if ((uint32_t)crc32(0L, r->data, (uInt)(r->len - 4)) != stored_crc)
    return bad(err, path, "checksum mismatch (the file is corrupted)");
  r->len -= 4; /* the checksum is not payload */
  return CLGAN_OK;
}

static clgan_status check_shape(const char *path, const char *which, const clgan_net_shape *stored,
                                const clgan_net_shape *built, clgan_error *err) {
  if (same_shape(stored, built))
    return CLGAN_OK;
  char a[700], b[700];
  clgan_net_shape_format(stored, a, sizeof a);
  clgan_net_shape_format(built, b, sizeof b);
  return bad(err, path, "its %s is [%s] but its embedded config builds [%s]", which, a, b);
}

static clgan_status parse(const char *path, reader *r, clgan_checkpoint *ck, clgan_error *err) {
  CLGAN_TRY(check_envelope(path, r, err));
  uint64_t yaml_len;
  if (!take(r, &ck->config_hash, 8) || !take(r, &ck->step, 8))
    return bad(err, path, "truncated header");
  if (!take_shape(r, &ck->g_shape) || !take_shape(r, &ck->d_shape))
    return bad(err, path, "malformed network shapes");
  if (!take(r, &yaml_len, 8) || yaml_len > r->len - r->pos)
    return bad(err, path, "truncated config section");
  ck->config_yaml = malloc(yaml_len + 1);
  if (!ck->config_yaml)
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory reading checkpoint '%s'", path);
  take(r, ck->config_yaml, yaml_len);
  ck->config_yaml[yaml_len] = '\0';
  if (fnv1a64(ck->config_yaml, yaml_len) != ck->config_hash)
    return bad(err, path, "its config section does not match the config hash in its header");
  if (!take(r, &ck->n_g, 8) || !take(r, &ck->n_d, 8))
    return bad(err, path, "truncated network header");
  if (ck->n_g != shape_params(&ck->g_shape) || ck->n_d != shape_params(&ck->d_shape))
    return bad(err, path, "parameter counts (%llu, %llu) do not match its network shapes",
               (unsigned long long)ck->n_g, (unsigned long long)ck->n_d);
  if (ck->n_g > r->len || ck->n_d > r->len ||
      3 * (ck->n_g + ck->n_d) * sizeof(float) != r->len - r->pos)
    return bad(err, path, "network sizes do not match the file length");
  ck->g_state = malloc((3 * ck->n_g + 1) * sizeof(float));
  ck->d_state = malloc((3 * ck->n_d + 1) * sizeof(float));
  if (!ck->g_state || !ck->d_state)
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory reading checkpoint '%s'", path);
  take(r, ck->g_state, 3 * ck->n_g * sizeof(float));
  take(r, ck->d_state, 3 * ck->n_d * sizeof(float));
  char source[4200];
  snprintf(source, sizeof source, "%s (embedded config)", path);
  CLGAN_TRY(clgan_config_load_string(ck->config_yaml, yaml_len, source, NULL, 0, &ck->cfg, err));
  clgan_net_shape g, d;
  clgan_gan_shapes_of_config(&ck->cfg, &g, &d);
  CLGAN_TRY(check_shape(path, "generator", &ck->g_shape, &g, err));
  return check_shape(path, "discriminator", &ck->d_shape, &d, err);
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

/* --- restoring and resuming */

static clgan_status restore_network(const float *state, const clgan_net_shape *stored,
                                    clgan_mlp *net, const char *which, clgan_error *err) {
  clgan_net_shape built;
  clgan_net_shape_of_mlp(net, &built);
  if (!same_shape(stored, &built)) {
    char a[700], b[700];
    clgan_net_shape_format(stored, a, sizeof a);
    clgan_net_shape_format(&built, b, sizeof b);
    return clgan_fail(err, CLGAN_E_INPUT,
                      "the checkpoint's %s is [%s] but this run's config builds [%s]", which, a, b);
  }
  size_t n = net->n_params;
  clgan_buffer *parts[3] = {net->params, net->moment1, net->moment2};
  for (int i = 0; i < 3 && n; ++i)
    CLGAN_TRY(net->be->ops->write(net->be, parts[i], 0, n, state + (size_t)i * n, err));
  return CLGAN_OK;
}

clgan_status clgan_checkpoint_restore(const clgan_checkpoint *ck, clgan_gan *gan,
                                      clgan_error *err) {
  CLGAN_TRY(restore_network(ck->g_state, &ck->g_shape, &gan->g, "generator", err));
  CLGAN_TRY(restore_network(ck->d_state, &ck->d_shape, &gan->d, "discriminator", err));
  gan->step = ck->step;
  return CLGAN_OK;
}

/* cfg's YAML with the keys a resumed run may change reset to defaults. */
static char *training_yaml(const clgan_config *cfg) {
  clgan_config c = *cfg, d;
  clgan_config_defaults(&d);
  memcpy(c.name, d.name, sizeof c.name);
  c.train.epochs = d.train.epochs;
  c.train.max_steps = d.train.max_steps;
  c.train.log_every = d.train.log_every;
  c.eval = d.eval;
  c.device = d.device;
  return clgan_config_to_yaml(&c);
}

clgan_status clgan_config_training_hash(const clgan_config *cfg, uint64_t *hash, clgan_error *err) {
  char *yaml = training_yaml(cfg);
  if (!yaml)
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory hashing a config");
  *hash = fnv1a64(yaml, strlen(yaml));
  free(yaml);
  return CLGAN_OK;
}

/* Where two emitted configs first differ, as a dotted key and both values.
 * The emitter writes one key per line, nested by two-space indents, list
 * items as "- {k: v, ...}" flow mappings; the lines before the first
 * difference are equal, so one key stack serves both texts. */
typedef struct span {
  const char *s;
  size_t n;
} span;

static span next_line(const char **p) {
  span l = {*p, strcspn(*p, "\n")};
  *p += l.n + (l.s[l.n] == '\n');
  return l;
}

static bool span_eq(span a, span b) {
  return a.n == b.n && memcmp(a.s, b.s, a.n) == 0;
}

/* The next "k: v" item of a flow mapping "{k: v, k: v}" from *pos. */
static span flow_item(span v, size_t *pos) {
  while (*pos < v.n && strchr("{, ", v.s[*pos]))
    ++*pos;
  span item = {v.s + *pos, 0};
  while (*pos < v.n && v.s[*pos] != ',' && v.s[*pos] != '}')
    ++*pos, ++item.n;
  return item;
}

/* Narrows differing flow mappings to their first differing item: appends
 * ".k" to key and leaves that item's values in *a and *b. */
static void narrow_flow(span *a, span *b, char *key, size_t key_size) {
  if (!a->n || !b->n || a->s[0] != '{' || b->s[0] != '{')
    return;
  size_t pa = 0, pb = 0;
  for (;;) {
    span ia = flow_item(*a, &pa), ib = flow_item(*b, &pb);
    if (!ia.n && !ib.n)
      return;
    if (span_eq(ia, ib))
      continue;
    size_t ka = strcspn(ia.s, ":"), kb = strcspn(ib.s, ":");
    if (ka + 2 <= ia.n && ka == kb && kb + 2 <= ib.n && memcmp(ia.s, ib.s, ka) == 0) {
      size_t used = strlen(key);
      snprintf(key + used, key_size - used, ".%.*s", (int)ka, ia.s);
      ia.s += ka + 2, ia.n -= ka + 2;
      ib.s += ka + 2, ib.n -= ka + 2;
    }
    *a = ia;
    *b = ib;
    return;
  }
}

static void describe_difference(const char *a, const char *b, char *out, size_t size) {
  enum { DEPTH = 8 };
  struct {
    span name;
    size_t indent, items;
  } stack[DEPTH];
  size_t depth = 0;
  snprintf(out, size, "no difference found");
  while (*a || *b) {
    span la = next_line(&a), lb = next_line(&b);
    size_t indent = strspn(la.s, " ");
    span c = {la.s + indent, la.n - indent};
    if (c.n == 0 || c.s[0] == '#')
      continue; /* comments carry no settings */
    while (depth && stack[depth - 1].indent >= indent)
      --depth;
    char key[256] = "";
    for (size_t i = 0; i < depth; ++i) {
      size_t used = strlen(key);
      snprintf(key + used, sizeof key - used, "%s%.*s", i ? "." : "", (int)stack[i].name.n,
               stack[i].name.s);
    }
    size_t used = strlen(key), vstart;
    if (c.n >= 2 && c.s[0] == '-' && c.s[1] == ' ') {
      snprintf(key + used, sizeof key - used, ".%zu", depth ? stack[depth - 1].items++ : 0);
      vstart = indent + 2;
    } else {
      size_t klen = strcspn(c.s, ":\n");
      snprintf(key + used, sizeof key - used, "%s%.*s", depth ? "." : "", (int)klen, c.s);
      vstart = indent + klen + 1;
      while (vstart < la.n && la.s[vstart] == ' ')
        ++vstart;
      if (vstart >= la.n && depth < DEPTH) {
        stack[depth].name = (span){c.s, klen};
        stack[depth].indent = indent;
        stack[depth].items = 0;
        ++depth;
      }
    }
    if (span_eq(la, lb))
      continue;
    if (vstart <= la.n && vstart <= lb.n && memcmp(la.s, lb.s, vstart) == 0) {
      span va = {la.s + vstart, la.n - vstart}, vb = {lb.s + vstart, lb.n - vstart};
      narrow_flow(&va, &vb, key, sizeof key);
      snprintf(out, size, "%s is %.*s in the checkpoint and %.*s now", key, (int)va.n, va.s,
               (int)vb.n, vb.s);
    } else {
      size_t ib = strspn(lb.s, " ");
      snprintf(out, size, "the checkpoint's config has '%.*s' where this one has '%.*s'", (int)c.n,
               c.s, (int)(lb.n - ib), lb.s + ib);
    }
    return;
  }
}

clgan_status clgan_checkpoint_check_resume(const clgan_checkpoint *ck, const char *path,
                                           const clgan_config *cfg, clgan_error *err) {
  char *a = training_yaml(&ck->cfg), *b = training_yaml(cfg);
  clgan_status st = CLGAN_OK;
  if (!a || !b) {
    st = clgan_fail(err, CLGAN_E_RUNTIME, "out of memory comparing configs");
  } else if (fnv1a64(a, strlen(a)) != fnv1a64(b, strlen(b)) || strcmp(a, b) != 0) {
    char what[1024];
    describe_difference(a, b, what, sizeof what);
    st = clgan_fail(err, CLGAN_E_INPUT,
                    "cannot resume from '%s': it trained another config (%s); only name, "
                    "train.epochs, train.max_steps, train.log_every, eval.* and device.* may "
                    "change on resume",
                    path, what);
  }
  free(a);
  free(b);
  return st;
}
