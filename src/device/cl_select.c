/* Device selection (--device SPEC and friends) and the `clgan devices` table.
 * Selection never calls OpenCL: it resolves a spec against an inventory, so it
 * is testable with hand-built inventories. Every failure message says what was
 * asked, where it came from, and which devices exist, because the user's next
 * step is always to pick one of those. */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "clgan/opencl.h"

#define ICD_ADVICE                                                                                 \
  "no OpenCL device found: install an OpenCL driver (ICD), e.g. pocl-opencl-icd for CPUs or "      \
  "your GPU vendor's driver"
#define ACCEPTED_FORMS                                                                             \
  "use P:D (e.g. 0:0), a flat index N (e.g. 0), gpu, cpu, accelerator, or part of a device name"
#define NO_MATCH SIZE_MAX

/* ---- small text helpers ------------------------------------------------- */

/* A bounded appender: overflowing text is cut, never written past cap. */
typedef struct text {
  char buf[CLGAN_ERROR_MESSAGE_MAX];
  size_t len;
} text;

static void text_add(text *t, const char *fmt, ...) CLGAN_PRINTF(2, 3);
static void text_add(text *t, const char *fmt, ...) {
  size_t room = sizeof t->buf - t->len;
  if (room <= 1)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->buf + t->len, room, fmt, ap);
  va_end(ap);
  if (n > 0)
    t->len += (size_t)n < room ? (size_t)n : room - 1;
}

static const char *plural(size_t n, const char *one, const char *many) {
  return n == 1 ? one : many;
}

static bool ci_equal(const char *s, size_t len, const char *word) {
  if (strlen(word) != len)
    return false;
  for (size_t i = 0; i < len; i++)
    if (tolower((unsigned char)s[i]) != tolower((unsigned char)word[i]))
      return false;
  return true;
}

static bool ci_contains(const char *hay, const char *needle, size_t nlen) {
  for (size_t start = 0; hay[start] != '\0'; start++) {
    size_t i = 0;
    while (i < nlen && hay[start + i] != '\0' &&
           tolower((unsigned char)hay[start + i]) == tolower((unsigned char)needle[i]))
      i++;
    if (i == nlen)
      return true;
  }
  return nlen == 0;
}

static void trim(const char **s, size_t *len) {
  while (*len > 0 && isspace((unsigned char)**s)) {
    (*s)++;
    (*len)--;
  }
  while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
    (*len)--;
}

/* Parses an all-digit string; values too large for size_t saturate, which
 * every caller then reports as out of range. */
static bool parse_index(const char *s, size_t len, size_t *out) {
  trim(&s, &len);
  if (len == 0)
    return false;
  size_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (!isdigit((unsigned char)s[i]))
      return false;
    size_t digit = (size_t)(s[i] - '0');
    v = v > (SIZE_MAX - digit) / 10 ? SIZE_MAX : v * 10 + digit;
  }
  *out = v;
  return true;
}

static bool device_matches(const clgan_cl_device *d, const char *needle, size_t nlen) {
  char hay[sizeof d->platform_name + sizeof d->device_name + 1];
  snprintf(hay, sizeof hay, "%s %s", d->platform_name, d->device_name);
  return ci_contains(hay, needle, nlen);
}

/* ---- failure messages --------------------------------------------------- */

/* The spec as the user typed it (trimmed); quoted when it has blanks so the
 * message shows where it starts and ends. */
typedef struct ask {
  const char *origin;
  const char *spec;
  size_t len;
} ask;

static void add_ask(text *t, const ask *a) {
  bool blanks = false;
  for (size_t i = 0; i < a->len; i++)
    blanks = blanks || isspace((unsigned char)a->spec[i]);
  const char *q = blanks ? "'" : "";
  /* A pasted-in novel must not crowd the device list out of the message. */
  const int shown = a->len > 200 ? 200 : (int)a->len;
  text_add(t, "%s %s%.*s%s%s: ", a->origin, q, shown, a->spec, a->len > 200 ? "..." : "", q);
}

/* Lists devices as "P:D  TYPE  name (platform)", all of them, or only those
 * matching needle. Stops early with a count rather than cutting a line in
 * half, keeping room for the closing hint. */
static void add_candidates(text *t, const clgan_cl_inventory *inv, const char *needle,
                           size_t nlen) {
  const size_t reserve = 96;
  for (size_t i = 0; i < inv->n_devices; i++) {
    const clgan_cl_device *d = &inv->devices[i];
    if (needle && !device_matches(d, needle, nlen))
      continue;
    char line[sizeof d->device_name + sizeof d->platform_name + 64];
    int n =
        snprintf(line, sizeof line, "\n  %u:%u  %s  %s (%s)", d->platform_index, d->device_index,
                 clgan_cl_device_type_name(d->type), d->device_name, d->platform_name);
    if (t->len + (size_t)n + reserve >= sizeof t->buf) {
      size_t rest = 0;
      for (size_t k = i; k < inv->n_devices; k++)
        rest += !needle || device_matches(&inv->devices[k], needle, nlen);
      text_add(t, "\n  ... and %zu more", rest);
      return;
    }
    text_add(t, "%s", line);
  }
}

static clgan_status select_fail(clgan_error *err, const clgan_cl_inventory *inv, const ask *a,
                                const char *needle, size_t nlen, const char *fmt, ...)
    CLGAN_PRINTF(6, 7);

/* "<origin> <spec>: <problem>. Devices: <list>. Run 'clgan devices' ..." */
static clgan_status select_fail(clgan_error *err, const clgan_cl_inventory *inv, const ask *a,
                                const char *needle, size_t nlen, const char *fmt, ...) {
  text t = {.len = 0};
  t.buf[0] = '\0';
  add_ask(&t, a);
  char problem[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(problem, sizeof problem, fmt, ap);
  va_end(ap);
  text_add(&t, "%s. %s:", problem, needle ? "Matches" : "Devices");
  add_candidates(&t, inv, needle, nlen);
  text_add(&t, "\nRun 'clgan devices' for details.");
  return clgan_fail(err, CLGAN_E_INPUT, "%s", t.buf);
}

static clgan_status no_devices_fail(clgan_error *err, const clgan_cl_inventory *inv, const ask *a) {
  text t = {.len = 0};
  t.buf[0] = '\0';
  if (a->len > 0)
    add_ask(&t, a);
  text_add(&t, "%s", ICD_ADVICE);
  for (size_t i = 0; i < inv->n_notes; i++)
    text_add(&t, "%s platform %u (%s): %s", i == 0 ? " (" : ";", inv->notes[i].platform_index,
             inv->notes[i].platform_name, inv->notes[i].problem);
  if (inv->n_notes > 0)
    text_add(&t, ")");
  return clgan_fail(err, CLGAN_E_RUNTIME, "%s", t.buf);
}

/* ---- the spec forms ----------------------------------------------------- */

static size_t first_of_type(const clgan_cl_inventory *inv, cl_device_type type) {
  for (size_t i = 0; i < inv->n_devices; i++)
    if (inv->devices[i].type & type)
      return i;
  return NO_MATCH;
}

static size_t devices_on_platform(const clgan_cl_inventory *inv, size_t p) {
  size_t n = 0;
  for (size_t i = 0; i < inv->n_devices; i++)
    n += inv->devices[i].platform_index == p;
  return n;
}

static const char *platform_name(const clgan_cl_inventory *inv, size_t p) {
  for (size_t i = 0; i < inv->n_devices; i++)
    if (inv->devices[i].platform_index == p)
      return inv->devices[i].platform_name;
  for (size_t i = 0; i < inv->n_notes; i++)
    if (inv->notes[i].platform_index == p)
      return inv->notes[i].platform_name;
  return "unknown platform";
}

static clgan_status select_pd(const clgan_cl_inventory *inv, const ask *a, size_t colon,
                              size_t *index_out, clgan_error *err) {
  size_t p = 0, d = 0;
  if (!parse_index(a->spec, colon, &p) || !parse_index(a->spec + colon + 1, a->len - colon - 1, &d))
    return select_fail(err, inv, a, NULL, 0, "malformed device spec; %s", ACCEPTED_FORMS);
  if (p >= inv->n_platforms)
    return select_fail(err, inv, a, NULL, 0, "no such device; platform %zu does not exist (%u %s)",
                       p, inv->n_platforms, plural(inv->n_platforms, "platform", "platforms"));
  for (size_t i = 0; i < inv->n_devices; i++) {
    if (inv->devices[i].platform_index == p && inv->devices[i].device_index == d) {
      *index_out = i;
      return CLGAN_OK;
    }
  }
  size_t n = devices_on_platform(inv, p);
  if (n == 0)
    return select_fail(err, inv, a, NULL, 0, "no such device; platform %zu (%s) has no devices", p,
                       platform_name(inv, p));
  return select_fail(err, inv, a, NULL, 0,
                     "no such device; platform %zu (%s) has %zu %s, valid ids %zu:0..%zu:%zu", p,
                     platform_name(inv, p), n, plural(n, "device", "devices"), p, p, n - 1);
}

static clgan_status select_flat(const clgan_cl_inventory *inv, const ask *a, size_t n,
                                size_t *index_out, clgan_error *err) {
  if (n < inv->n_devices) {
    *index_out = n;
    return CLGAN_OK;
  }
  return select_fail(err, inv, a, NULL, 0,
                     "no such device; flat index %.*s is out of range (%zu %s, valid 0..%zu)",
                     (int)a->len, a->spec, inv->n_devices,
                     plural(inv->n_devices, "device", "devices"), inv->n_devices - 1);
}

static clgan_status select_type(const clgan_cl_inventory *inv, const ask *a, cl_device_type type,
                                size_t *index_out, clgan_error *err) {
  size_t i = first_of_type(inv, type);
  if (i != NO_MATCH) {
    *index_out = i;
    return CLGAN_OK;
  }
  return select_fail(err, inv, a, NULL, 0, "no %s device", clgan_cl_device_type_name(type));
}

static clgan_status select_substring(const clgan_cl_inventory *inv, const ask *a, size_t *index_out,
                                     clgan_error *err) {
  size_t found = NO_MATCH, count = 0;
  for (size_t i = 0; i < inv->n_devices; i++) {
    if (device_matches(&inv->devices[i], a->spec, a->len)) {
      found = count == 0 ? i : found;
      count++;
    }
  }
  if (count == 1) {
    *index_out = found;
    return CLGAN_OK;
  }
  if (count == 0)
    return select_fail(err, inv, a, NULL, 0,
                       "no device name contains this text (case-insensitive, matched against "
                       "'platform device'); %s",
                       ACCEPTED_FORMS);
  return select_fail(err, inv, a, a->spec, a->len,
                     "matches %zu devices; use P:D to pick exactly one", count);
}

/* Numeric-looking specs that are not a valid P:D or N ("1:x", "-1", "3:")
 * are typos of an index, not name fragments; matching them as substrings
 * would give a baffling "no device contains" message. Names with colons
 * (AMD's "gfx90a:xnack-") start with a letter, so stay substrings. */
static bool looks_like_index(const char *s, size_t len, size_t *colon) {
  const char *c = memchr(s, ':', len);
  *colon = c ? (size_t)(c - s) : len;
  bool lead_digit = isdigit((unsigned char)s[0]) || s[0] == ':';
  bool signed_digit = (s[0] == '-' || s[0] == '+') && len > 1 && isdigit((unsigned char)s[1]);
  return (c && lead_digit) || signed_digit;
}

static size_t default_device(const clgan_cl_inventory *inv) {
  static const cl_device_type order[] = {CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_ACCELERATOR,
                                         CL_DEVICE_TYPE_CPU};
  for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
    size_t i = first_of_type(inv, order[k]);
    if (i != NO_MATCH)
      return i;
  }
  return 0;
}

clgan_status clgan_cl_select(const clgan_cl_inventory *inv, const char *spec, const char *origin,
                             size_t *index_out, int *chose_default, clgan_error *err) {
  ask a = {.origin = origin ? origin : "device", .spec = spec ? spec : "", .len = 0};
  a.len = strlen(a.spec);
  trim(&a.spec, &a.len);
  if (chose_default)
    *chose_default = 0;
  if (inv->n_devices == 0)
    return no_devices_fail(err, inv, &a);
  if (a.len == 0) {
    *index_out = default_device(inv);
    if (chose_default)
      *chose_default = 1;
    return CLGAN_OK;
  }

  size_t colon = 0, n = 0;
  if (looks_like_index(a.spec, a.len, &colon)) {
    if (colon < a.len)
      return select_pd(inv, &a, colon, index_out, err);
    return select_fail(err, inv, &a, NULL, 0, "malformed device spec; %s", ACCEPTED_FORMS);
  }
  if (parse_index(a.spec, a.len, &n))
    return select_flat(inv, &a, n, index_out, err);
  if (ci_equal(a.spec, a.len, "gpu"))
    return select_type(inv, &a, CL_DEVICE_TYPE_GPU, index_out, err);
  if (ci_equal(a.spec, a.len, "cpu"))
    return select_type(inv, &a, CL_DEVICE_TYPE_CPU, index_out, err);
  if (ci_equal(a.spec, a.len, "accelerator") || ci_equal(a.spec, a.len, "accel"))
    return select_type(inv, &a, CL_DEVICE_TYPE_ACCELERATOR, index_out, err);
  return select_substring(inv, &a, index_out, err);
}

/* ---- the `clgan devices` table ------------------------------------------ */

enum { N_COLS = 9 };
static const struct column {
  const char *heading;
  bool right; /* numbers read best right-aligned, text left-aligned */
} COLUMNS[N_COLS] = {
    {"ID", false},       {"#", true},  {"TYPE", false},      {"NAME", false},  {"VENDOR", false},
    {"OPENCL-C", false}, {"CU", true}, {"GLOBAL-MEM", true}, {"MAX-WG", true},
};

typedef struct row {
  char id[32], idx[24], cu[24], mem[32], wg[24];
  const char *cells[N_COLS];
} row;

static void format_bytes(char *out, size_t cap, cl_ulong bytes) {
  const double mib = 1024.0 * 1024.0;
  if (bytes >= (cl_ulong)1024 * 1024 * 1024)
    snprintf(out, cap, "%.1f GiB", (double)bytes / (mib * 1024.0));
  else
    snprintf(out, cap, "%.0f MiB", (double)bytes / mib);
}

static void make_row(const clgan_cl_device *d, row *r) {
  snprintf(r->id, sizeof r->id, "%u:%u", d->platform_index, d->device_index);
  snprintf(r->idx, sizeof r->idx, "%u", d->flat_index);
  snprintf(r->cu, sizeof r->cu, "%u", (unsigned)d->compute_units);
  format_bytes(r->mem, sizeof r->mem, d->global_mem_bytes);
  snprintf(r->wg, sizeof r->wg, "%zu", d->max_work_group_size);
  const char *cells[N_COLS] = {
      r->id,          r->idx,    clgan_cl_device_type_name(d->type),
      d->device_name, d->vendor, d->opencl_c_version,
      r->cu,          r->mem,    r->wg,
  };
  memcpy(r->cells, cells, sizeof cells);
}

static void print_cells(FILE *out, const char *const *cells, const int *width) {
  fputs("  ", out);
  for (int c = 0; c < N_COLS; c++) {
    const char *sep = c + 1 < N_COLS ? "  " : "\n";
    if (COLUMNS[c].right)
      fprintf(out, "%*s%s", width[c], cells[c], sep);
    else if (c + 1 < N_COLS)
      fprintf(out, "%-*s%s", width[c], cells[c], sep);
    else
      fprintf(out, "%s%s", cells[c], sep);
  }
}

/* One width per column over every device, so platforms line up. */
static void column_widths(const clgan_cl_inventory *inv, int *width) {
  for (int c = 0; c < N_COLS; c++)
    width[c] = (int)strlen(COLUMNS[c].heading);
  for (size_t i = 0; i < inv->n_devices; i++) {
    row r;
    make_row(&inv->devices[i], &r);
    for (int c = 0; c < N_COLS; c++) {
      int w = (int)strlen(r.cells[c]);
      width[c] = w > width[c] ? w : width[c];
    }
  }
}

static void print_platform(FILE *out, const clgan_cl_inventory *inv, unsigned p, const int *width) {
  size_t n = devices_on_platform(inv, p);
  if (n == 0) {
    const char *problem = "no devices";
    for (size_t i = 0; i < inv->n_notes; i++)
      if (inv->notes[i].platform_index == p)
        problem = inv->notes[i].problem;
    fprintf(out, "platform %u: %s (%s)\n", p, platform_name(inv, p), problem);
    return;
  }
  fprintf(out, "platform %u: %s (%zu %s)\n", p, platform_name(inv, p), n,
          plural(n, "device", "devices"));
  const char *headings[N_COLS];
  for (int c = 0; c < N_COLS; c++)
    headings[c] = COLUMNS[c].heading;
  print_cells(out, headings, width);
  for (size_t i = 0; i < inv->n_devices; i++) {
    if (inv->devices[i].platform_index != p)
      continue;
    row r;
    make_row(&inv->devices[i], &r);
    print_cells(out, r.cells, width);
  }
}

void clgan_cl_print_inventory(FILE *out, const clgan_cl_inventory *inv) {
  if (inv->n_platforms == 0) {
    fprintf(out, "%s\n", ICD_ADVICE);
    return;
  }
  int width[N_COLS];
  column_widths(inv, width);
  for (unsigned p = 0; p < inv->n_platforms; p++) {
    if (p > 0)
      fputc('\n', out);
    print_platform(out, inv, p, width);
  }
  if (inv->n_devices == 0) {
    fprintf(out, "\n%s\n", ICD_ADVICE);
    return;
  }
  const clgan_cl_device *d = &inv->devices[default_device(inv)];
  fprintf(out,
          "\nDefault device: %u:%u (%s). Choose another with --device P:D, a flat index #, "
          "gpu, cpu, accelerator, or part of its name.\n",
          d->platform_index, d->device_index, d->device_name);
}
