/* Loading a config: read the file, check the YAML stream for what the
 * schema does not allow (several documents, anchors, aliases, tags), load
 * it as a node tree with positions, walk it (config_keys.c), apply the
 * --set overrides, then run the checks that span several keys. Everything
 * goes into a temporary that is copied out only when all of it succeeded. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

#define CONFIG_FILE_MAX (16u << 20) /* far beyond any real config; stops /dev/zero */
#define SCAN_DEPTH_MAX 64           /* the schema nests 4 deep */
/* The largest config the schema allows has under 1,000 nodes. The cap stops
 * a 16 MiB file of [1,1,1,...] from building a gigabyte node tree. */
#define SCAN_NODES_MAX 10000
#define SHOWN_OVERRIDE_MAX 200 /* bytes of a --set quoted back in a message */

/* ---- messages ------------------------------------------------------------ */

static void override_location(const cfg_loader *l, size_t index, char *out, size_t size) {
  const char *text = l->overrides[index];
  char shown[SHOWN_OVERRIDE_MAX + 8];
  cfg_quote(text, strlen(text), SHOWN_OVERRIDE_MAX, shown, sizeof shown);
  snprintf(out, size, "--set %s", shown);
}

/* "file:line:column" (1-based), or "--set KEY=VALUE" while in an override. */
static void location(const cfg_loader *l, yaml_mark_t mark, char *out, size_t size) {
  if (l->in_override)
    override_location(l, l->override_index, out, size);
  else
    snprintf(out, size, "%s:%zu:%zu", l->source, mark.line + 1, mark.column + 1);
}

static clgan_status fail_v(cfg_loader *l, const char *where, const char *key, const char *fmt,
                           va_list ap) {
  char msg[CLGAN_ERROR_MESSAGE_MAX];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (key && key[0])
    return clgan_fail(l->err, CLGAN_E_INPUT, "%s: %s: %s", where, key, msg);
  return clgan_fail(l->err, CLGAN_E_INPUT, "%s: %s", where, msg);
}

clgan_status cfg_fail_node(cfg_loader *l, const yaml_node_t *node, const char *fmt, ...) {
  char where[CLGAN_ERROR_MESSAGE_MAX / 2];
  location(l, node->start_mark, where, sizeof where);
  va_list ap;
  va_start(ap, fmt);
  clgan_status st = fail_v(l, where, NULL, fmt, ap);
  va_end(ap);
  return st;
}

clgan_status cfg_fail_key(cfg_loader *l, const yaml_node_t *node, const char *fmt, ...) {
  char where[CLGAN_ERROR_MESSAGE_MAX / 2];
  location(l, node->start_mark, where, sizeof where);
  va_list ap;
  va_start(ap, fmt);
  clgan_status st = fail_v(l, where, l->path, fmt, ap);
  va_end(ap);
  return st;
}

/* Parse problems carry a mark, not a node; in an override the message also
 * names the key whose value did not parse. */
static clgan_status fail_mark(cfg_loader *l, yaml_mark_t mark, const char *fmt, ...)
    CLGAN_PRINTF(3, 4);
static clgan_status fail_mark(cfg_loader *l, yaml_mark_t mark, const char *fmt, ...) {
  char where[CLGAN_ERROR_MESSAGE_MAX / 2];
  location(l, mark, where, sizeof where);
  va_list ap;
  va_start(ap, fmt);
  clgan_status st = fail_v(l, where, l->in_override ? l->path : NULL, fmt, ap);
  va_end(ap);
  return st;
}

clgan_status cfg_fail_origin(cfg_loader *l, cfg_origin origin, const char *fmt, ...) {
  char where[CLGAN_ERROR_MESSAGE_MAX / 2];
  if (origin.kind == CFG_FROM_OVERRIDE)
    override_location(l, origin.override, where, sizeof where);
  else if (origin.kind == CFG_FROM_FILE)
    snprintf(where, sizeof where, "%s:%zu:%zu", l->source, origin.mark.line + 1,
             origin.mark.column + 1);
  else
    snprintf(where, sizeof where, "%s", l->source);
  va_list ap;
  va_start(ap, fmt);
  clgan_status st = fail_v(l, where, NULL, fmt, ap);
  va_end(ap);
  return st;
}

cfg_origin cfg_origin_here(const cfg_loader *l, const yaml_node_t *node) {
  cfg_origin o = {CFG_FROM_FILE, node->start_mark, 0};
  if (l->in_override) {
    o.kind = CFG_FROM_OVERRIDE;
    o.override = l->override_index;
  }
  return o;
}

/* ---- YAML stream ---------------------------------------------------------- */

/* The position of byte `offset`, counted the way libyaml counts its marks:
 * in characters, not bytes, without a leading byte order mark, and with CR
 * LF, CR, LF, NEL, U+2028 and U+2029 each ending a line. Reader errors (bad
 * UTF-8, control characters) come with a byte offset only. */
static yaml_mark_t mark_at_offset(const unsigned char *text, size_t len, size_t offset) {
  yaml_mark_t mark = {0, 0, 0};
  if (offset > len)
    offset = len;
  size_t i = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  while (i < offset) {
    unsigned char c = text[i];
    size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    bool line_break = c == '\n' || c == '\r';
    if (c == '\r' && i + 1 < len && text[i + 1] == '\n')
      n = 2;
    else if (c == 0xC2 && i + 1 < len && text[i + 1] == 0x85)
      line_break = true;
    else if (c == 0xE2 && i + 2 < len && text[i + 1] == 0x80 &&
             (text[i + 2] == 0xA8 || text[i + 2] == 0xA9))
      line_break = true;
    if (n > offset - i)
      break; /* the bad byte is inside this character: point at it */
    mark.index++;
    if (line_break) {
      mark.line++;
      mark.column = 0;
    } else {
      mark.column++;
    }
    i += n;
  }
  return mark;
}

static clgan_status fail_parser(cfg_loader *l, const yaml_parser_t *p, const unsigned char *text,
                                size_t len) {
  if (p->error == YAML_MEMORY_ERROR)
    return clgan_fail(l->err, CLGAN_E_RUNTIME, "%s: out of memory while parsing", l->source);
  const char *problem = p->problem ? p->problem : "unknown error";
  if (p->error == YAML_READER_ERROR) {
    yaml_mark_t mark = mark_at_offset(text, len, p->problem_offset);
    /* problem_value is the offending byte for malformed UTF-8, the decoded
     * character otherwise, and -1 when there is none to show. */
    if (p->problem_value < 0)
      return fail_mark(l, mark, "invalid YAML: %s", problem);
    if (strstr(problem, "octet"))
      return fail_mark(l, mark, "invalid YAML: %s (byte 0x%02X)", problem,
                       (unsigned)p->problem_value);
    return fail_mark(l, mark, "invalid YAML: %s (U+%04X)", problem, (unsigned)p->problem_value);
  }
  if (p->context)
    return fail_mark(l, p->problem_mark, "invalid YAML: %s (%s at line %zu)", problem, p->context,
                     p->context_mark.line + 1);
  return fail_mark(l, p->problem_mark, "invalid YAML: %s", problem);
}

typedef struct scan_level {
  bool mapping;  /* inside a mapping (else a sequence) */
  bool want_key; /* the next node in this mapping is a key */
} scan_level;

typedef struct scan_state {
  scan_level stack[SCAN_DEPTH_MAX];
  size_t depth;
  size_t nodes;
  int documents;
} scan_state;

/* An anchor or tag as a message shows it (a tag can hold %-escaped bytes). */
static const char *shown_name(const yaml_char_t *name, char *out, size_t size) {
  cfg_quote((const char *)name, strlen((const char *)name), 60, out, size);
  return out;
}

/* Rejects anchors and tags on a node, and more nodes than any config has;
 * returns whether it is a mapping key. */
static clgan_status scan_node(cfg_loader *l, scan_state *s, const yaml_event_t *ev,
                              const yaml_char_t *anchor, const yaml_char_t *tag, bool *is_key) {
  char shown[80];
  if (anchor)
    return fail_mark(l, ev->start_mark, "anchor '&%s': aliases are not supported",
                     shown_name(anchor, shown, sizeof shown));
  if (tag)
    return fail_mark(l, ev->start_mark, "tag '%s': tags are not supported",
                     shown_name(tag, shown, sizeof shown));
  if (++s->nodes > SCAN_NODES_MAX)
    return fail_mark(l, ev->start_mark,
                     "too many values (more than %d): a config has a few hundred", SCAN_NODES_MAX);
  *is_key = false;
  if (s->depth > 0 && s->stack[s->depth - 1].mapping) {
    scan_level *top = &s->stack[s->depth - 1];
    *is_key = top->want_key;
    top->want_key = !top->want_key;
  }
  return CLGAN_OK;
}

static clgan_status scan_event(cfg_loader *l, scan_state *s, const yaml_event_t *ev) {
  bool is_key = false;
  switch (ev->type) {
  case YAML_DOCUMENT_START_EVENT:
    if (++s->documents > 1)
      return fail_mark(l, ev->start_mark, "more than one document: a config is one YAML document");
    return CLGAN_OK;
  case YAML_ALIAS_EVENT: {
    char shown[80];
    return fail_mark(l, ev->start_mark, "alias '*%s': aliases are not supported",
                     shown_name(ev->data.alias.anchor, shown, sizeof shown));
  }
  case YAML_SCALAR_EVENT:
    CLGAN_TRY(scan_node(l, s, ev, ev->data.scalar.anchor, ev->data.scalar.tag, &is_key));
    if (is_key && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        strcmp((const char *)ev->data.scalar.value, "<<") == 0)
      return fail_mark(l, ev->start_mark, "merge key '<<': aliases are not supported");
    return CLGAN_OK;
  case YAML_SEQUENCE_START_EVENT:
  case YAML_MAPPING_START_EVENT: {
    bool mapping = ev->type == YAML_MAPPING_START_EVENT;
    const yaml_char_t *anchor =
        mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    const yaml_char_t *tag = mapping ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
    CLGAN_TRY(scan_node(l, s, ev, anchor, tag, &is_key));
    if (s->depth == SCAN_DEPTH_MAX)
      return fail_mark(l, ev->start_mark, "nested too deeply");
    s->stack[s->depth].mapping = mapping;
    s->stack[s->depth].want_key = true;
    s->depth++;
    return CLGAN_OK;
  }
  case YAML_SEQUENCE_END_EVENT:
  case YAML_MAPPING_END_EVENT:
    if (s->depth > 0)
      s->depth--;
    return CLGAN_OK;
  default:
    return CLGAN_OK;
  }
}

/* A first pass over the events: the node tree that yaml_parser_load builds
 * resolves aliases silently and drops anchors, so they are caught here. */
static clgan_status scan_stream(cfg_loader *l, const unsigned char *text, size_t len,
                                int *documents) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser))
    return clgan_fail(l->err, CLGAN_E_RUNTIME, "%s: out of memory while parsing", l->source);
  yaml_parser_set_input_string(&parser, text, len);
  scan_state s = {.depth = 0, .documents = 0};
  clgan_status st = CLGAN_OK;
  for (bool done = false; !done && st == CLGAN_OK;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      st = fail_parser(l, &parser, text, len);
      break;
    }
    st = scan_event(l, &s, &ev);
    done = ev.type == YAML_STREAM_END_EVENT;
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&parser);
  *documents = s.documents;
  return st;
}

/* Loads the single document of text into doc (which the caller deletes on
 * CLGAN_OK). *empty says the stream held no document at all. */
static clgan_status load_document(cfg_loader *l, const char *text, size_t len, yaml_document_t *doc,
                                  bool *empty) {
  const unsigned char *bytes = (const unsigned char *)text;
  /* libyaml would decode UTF-16 after its byte order mark, but error
   * positions, the docs and the emitted config all assume UTF-8: say so
   * instead of half-supporting it. */
  if (len >= 2 &&
      ((bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF))) {
    yaml_mark_t start = {0, 0, 0};
    return fail_mark(l, start,
                     "the text is UTF-16 (it starts with a UTF-16 byte order mark); "
                     "a config must be UTF-8");
  }
  int documents = 0;
  CLGAN_TRY(scan_stream(l, bytes, len, &documents));
  *empty = documents == 0;
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser))
    return clgan_fail(l->err, CLGAN_E_RUNTIME, "%s: out of memory while parsing", l->source);
  yaml_parser_set_input_string(&parser, bytes, len);
  clgan_status st = CLGAN_OK;
  if (!yaml_parser_load(&parser, doc))
    st = fail_parser(l, &parser, bytes, len);
  yaml_parser_delete(&parser);
  return st;
}

/* ---- the file ---------------------------------------------------------- */

static bool is_null_node(const yaml_node_t *node) {
  if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    return false;
  const char *s = (const char *)node->data.scalar.value;
  return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
         strcmp(s, "NULL") == 0;
}

static clgan_status apply_file(cfg_loader *l, const char *text, size_t len) {
  yaml_document_t doc;
  bool empty = false;
  CLGAN_TRY(load_document(l, text, len, &doc, &empty));
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  clgan_status st = CLGAN_OK;
  if (empty || !root) {
    yaml_mark_t start = {0, 0, 0};
    st = fail_mark(l, start, "config is empty");
  } else if (is_null_node(root)) {
    st = cfg_fail_node(l, root, "config is empty");
  } else if (root->type != YAML_MAPPING_NODE) {
    char got[128];
    cfg_describe(root, got, sizeof got);
    st = cfg_fail_node(l, root,
                       "the top level must be a mapping of sections (data, noise, generator, "
                       "discriminator, train, eval, device), got %s",
                       got);
  } else {
    l->doc = &doc;
    st = cfg_apply_root(l, root);
    l->doc = NULL;
  }
  yaml_document_delete(&doc);
  return st;
}

/* ---- overrides ------------------------------------------------------------ */

/* The value of KEY=VALUE as a YAML node; an empty VALUE is YAML's empty
 * plain scalar, as `key:` would be in the file. */
static clgan_status load_value(cfg_loader *l, const char *value, yaml_document_t *doc,
                               yaml_node_t **root) {
  bool empty = false;
  CLGAN_TRY(load_document(l, value, strlen(value), doc, &empty));
  *root = yaml_document_get_root_node(doc);
  if (*root)
    return CLGAN_OK;
  yaml_document_delete(doc);
  if (!yaml_document_initialize(doc, NULL, NULL, NULL, 1, 1))
    return clgan_fail(l->err, CLGAN_E_RUNTIME, "out of memory");
  int id = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)"", 0, YAML_PLAIN_SCALAR_STYLE);
  if (!id) {
    yaml_document_delete(doc);
    return clgan_fail(l->err, CLGAN_E_RUNTIME, "out of memory");
  }
  *root = yaml_document_get_node(doc, id);
  return CLGAN_OK;
}

static clgan_status apply_override(cfg_loader *l, size_t index) {
  const char *text = l->overrides[index];
  if (!text)
    return clgan_fail(l->err, CLGAN_E_INPUT, "--set #%zu: missing KEY=VALUE", index + 1);
  l->in_override = true;
  l->override_index = index;
  yaml_mark_t nowhere = {0, 0, 0};
  l->path[0] = '\0';
  const char *eq = strchr(text, '=');
  if (!eq)
    return fail_mark(l, nowhere, "expected KEY=VALUE (e.g. train.epochs=1), found no '='");
  /* Tolerate "key = value" spacing around the key. */
  const char *key = text;
  const char *key_end = eq;
  while (key < key_end && (*key == ' ' || *key == '\t'))
    key++;
  while (key_end > key && (key_end[-1] == ' ' || key_end[-1] == '\t'))
    key_end--;
  size_t key_len = (size_t)(key_end - key);
  if (key_len == 0)
    return fail_mark(l, nowhere, "expected KEY=VALUE (e.g. train.epochs=1), got an empty key");
  /* Name the key in value parse errors, as it was written (but quoted: it
   * may hold anything). */
  char shown_key[CFG_PATH_MAX];
  cfg_quote(key, key_len, CFG_PATH_MAX - 8, shown_key, sizeof shown_key);
  size_t mark = cfg_path_push(l, shown_key, strlen(shown_key));
  yaml_document_t doc;
  yaml_node_t *value = NULL;
  clgan_status st = load_value(l, eq + 1, &doc, &value);
  cfg_path_pop(l, mark);
  if (st != CLGAN_OK)
    return st;
  l->doc = &doc;
  st = cfg_apply_override(l, key, key_len, value);
  l->doc = NULL;
  yaml_document_delete(&doc);
  l->in_override = false;
  return st;
}

/* ---- the whole load ------------------------------------------------------ */

/* Which of two values was set last (the one to blame for a conflict):
 * defaults, then the file in text order, then the overrides in order. */
static bool later(cfg_origin a, cfg_origin b) {
  if (a.kind != b.kind)
    return a.kind > b.kind;
  if (a.kind == CFG_FROM_OVERRIDE)
    return a.override > b.override;
  return a.kind == CFG_FROM_FILE && a.mark.index > b.mark.index;
}

static clgan_status cross_checks(cfg_loader *l) {
  const clgan_config *c = &l->cfg;
  if (!l->name_set && l->name_problem[0])
    return cfg_fail_origin(l, (cfg_origin){0}, "%s", l->name_problem);
  if (c->data.size < c->train.batch_size) {
    if (later(l->size_origin, l->batch_origin))
      return cfg_fail_origin(l, l->size_origin,
                             "data.size: must be >= train.batch_size (%zu), got %zu",
                             c->train.batch_size, c->data.size);
    return cfg_fail_origin(l, l->batch_origin,
                           "train.batch_size: must be <= data.size (%zu), got %zu", c->data.size,
                           c->train.batch_size);
  }
  if (!(c->eval.range_min < c->eval.range_max))
    return cfg_fail_origin(l, (cfg_origin){0}, "eval.range: min must be < max");
  return CLGAN_OK;
}

static bool ends_with(const char *s, size_t len, const char *suffix) {
  size_t n = strlen(suffix);
  if (len < n)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[len - n + i];
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if (c != suffix[i])
      return false;
  }
  return true;
}

/* The default run name: the source's base name without .yaml or .yml. An
 * unusable one is only an error if the config does not set `name`. */
static void derive_name(cfg_loader *l, const char *source) {
  const char *base = strrchr(source, '/');
  base = base ? base + 1 : source;
  size_t len = strlen(base);
  if (ends_with(base, len, ".yaml"))
    len -= 5;
  else if (ends_with(base, len, ".yml"))
    len -= 4;
  if (len == 0 || (len == 1 && base[0] == '.') || (len == 2 && memcmp(base, "..", 2) == 0))
    return; /* keep the default "clgan" */
  char name[CLGAN_NAME_MAX];
  const char *problem = "must be at most 127 bytes";
  if (len < CLGAN_NAME_MAX) {
    memcpy(name, base, len);
    name[len] = '\0';
    problem = cfg_name_problem(name, len);
  }
  if (problem) {
    snprintf(l->name_problem, sizeof l->name_problem,
             "name: cannot default to the file's base name (a name %s); set 'name' in the config",
             problem);
    l->cfg.name[0] = '\0';
    return;
  }
  memcpy(l->cfg.name, name, len + 1);
}

static clgan_status load_text(const char *text, size_t len, const char *source,
                              const char *name_source, const char *const *overrides,
                              size_t n_overrides, clgan_config *cfg, clgan_error *err) {
  if (!cfg)
    return clgan_fail(err, CLGAN_E_INPUT, "%s: no config to load into", source);
  if (n_overrides > 0 && !overrides)
    return clgan_fail(err, CLGAN_E_INPUT, "%s: overrides missing", source);
  cfg_loader *l = calloc(1, sizeof *l);
  if (!l)
    return clgan_fail(err, CLGAN_E_RUNTIME, "out of memory");
  clgan_config_defaults(&l->cfg);
  l->source = source;
  l->err = err;
  l->overrides = overrides;
  l->cur_net = -1;
  for (int n = 0; n < 2; n++)
    l->nets[n].init_std = CFG_DEFAULT_INIT_STD;
  if (name_source)
    derive_name(l, name_source);

  clgan_status st = apply_file(l, text, len);
  for (size_t i = 0; st == CLGAN_OK && i < n_overrides; i++)
    st = apply_override(l, i);
  if (st == CLGAN_OK)
    st = cfg_finish_networks(l);
  if (st == CLGAN_OK)
    st = cross_checks(l);
  if (st == CLGAN_OK) {
    *cfg = l->cfg;
    clgan_error_clear(err);
  }
  free(l);
  return st;
}

/* Reads the whole file; configs are small, and the parser wants one buffer. */
static clgan_status read_file(const char *path, char **out, size_t *out_len, clgan_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return clgan_fail(err, CLGAN_E_INPUT, "cannot read config '%s': %s", path, strerror(errno));
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  clgan_status st = buf ? CLGAN_OK : clgan_fail(err, CLGAN_E_RUNTIME, "out of memory");
  while (st == CLGAN_OK) {
    if (len == cap && cap >= CONFIG_FILE_MAX) {
      /* Full at the cap: a file of exactly the cap is still fine. */
      errno = 0;
      if (fgetc(f) != EOF)
        st = clgan_fail(err, CLGAN_E_INPUT, "cannot read config '%s': larger than %u MiB", path,
                        CONFIG_FILE_MAX >> 20);
      else if (ferror(f))
        st = clgan_fail(err, CLGAN_E_INPUT, "cannot read config '%s': %s", path,
                        strerror(errno ? errno : EIO));
      break;
    }
    if (len == cap) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) {
        st = clgan_fail(err, CLGAN_E_RUNTIME, "out of memory");
        break;
      }
      buf = bigger;
      cap *= 2;
    }
    errno = 0;
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) {
      if (ferror(f))
        st = clgan_fail(err, CLGAN_E_INPUT, "cannot read config '%s': %s", path,
                        strerror(errno ? errno : EIO));
      break;
    }
  }
  fclose(f);
  if (st != CLGAN_OK) {
    free(buf);
    return st;
  }
  *out = buf;
  *out_len = len;
  return CLGAN_OK;
}

clgan_status clgan_config_load(const char *path, const char *const *overrides, size_t n_overrides,
                               clgan_config *cfg, clgan_error *err) {
  if (!path)
    return clgan_fail(err, CLGAN_E_INPUT, "no config path given");
  char *text = NULL;
  size_t len = 0;
  CLGAN_TRY(read_file(path, &text, &len, err));
  clgan_status st = load_text(text, len, path, path, overrides, n_overrides, cfg, err);
  free(text);
  return st;
}

clgan_status clgan_config_load_string(const char *yaml, size_t len, const char *source_name,
                                      const char *const *overrides, size_t n_overrides,
                                      clgan_config *cfg, clgan_error *err) {
  const char *source = source_name ? source_name : "<string>";
  if (!yaml && len > 0)
    return clgan_fail(err, CLGAN_E_INPUT, "%s: no config text given", source);
  return load_text(yaml ? yaml : "", len, source, source_name, overrides, n_overrides, cfg, err);
}
