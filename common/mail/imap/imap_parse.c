/*
 * imap_parse: cursor tokenizer over one assembled IMAP response
 * (RFC 3501 section 9 grammar: atom, number, string, literal, NIL, lists).
 */
#include "imap_private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool imap_word_eq(const char *s, size_t n, const char *word)
{
  return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

int itok_peek(const struct itok *t)
{
  return t->p < t->end ? (unsigned char)*t->p : -1;
}

bool itok_eat(struct itok *t, char c)
{
  if(t->p < t->end && *t->p == c) {
    t->p++;
    return true;
  }
  return false;
}

int itok_sp(struct itok *t)
{
  if(!itok_eat(t, ' '))
    return -1;
  while(itok_eat(t, ' '))
    ;
  return 0;
}

static bool is_atom_char(int c, bool stop_bracket)
{
  if(c <= 0x20 || c >= 0x7f)
    return false;
  if(c == '(' || c == ')' || c == '{' || c == '"')
    return false;
  if(stop_bracket && c == ']')
    return false;
  return true;
}

bool itok_nil(struct itok *t)
{
  if(t->end - t->p >= 3 && strncasecmp(t->p, "NIL", 3) == 0 &&
     (t->end - t->p == 3 || !is_atom_char((unsigned char)t->p[3], true))) {
    t->p += 3;
    return true;
  }
  return false;
}

int itok_number(struct itok *t, uint64_t max, uint64_t *v_r)
{
  uint64_t v = 0;
  const char *start = t->p;
  while(t->p < t->end && *t->p >= '0' && *t->p <= '9') {
    unsigned d = (unsigned)(*t->p - '0');
    if(v > (max - d) / 10)
      return -1; /* out of range (also catches overflow) */
    v = v * 10 + d;
    t->p++;
  }
  if(t->p == start)
    return -1;
  *v_r = v;
  return 0;
}

int itok_atom(struct itok *t, bool stop_bracket, const char **s_r, size_t *n_r)
{
  const char *start = t->p;
  while(t->p < t->end && is_atom_char((unsigned char)*t->p, stop_bracket))
    t->p++;
  if(t->p == start)
    return -1;
  *s_r = start;
  *n_r = (size_t)(t->p - start);
  return 0;
}

/* Parse "{N}\r\n" and return the literal's span without copying. */
static int itok_literal_span(struct itok *t, const char **s_r, size_t *n_r)
{
  uint64_t n;
  if(!itok_eat(t, '{'))
    return -1;
  if(itok_number(t, UINT32_MAX, &n) < 0 || !itok_eat(t, '}'))
    return -1;
  itok_eat(t, '\r');
  if(!itok_eat(t, '\n'))
    return -1;
  if((uint64_t)(t->end - t->p) < n)
    return -1; /* announced more than the response holds */
  *s_r = t->p;
  *n_r = (size_t)n;
  t->p += n;
  return 0;
}

/* Copy s[0..n) to a NUL-terminated malloc'd string for the caller. */
static int copy_out(const char *s, size_t n, char **s_r, size_t *len_r)
{
  char *out = malloc(n + 1);
  if(!out)
    return -1;
  memcpy(out, s, n);
  out[n] = '\0';
  *s_r = out;
  *len_r = n;
  return 0;
}

int itok_string(struct itok *t, char **s_r, size_t *len_r)
{
  int c = itok_peek(t);
  if(c == '"') {
    const char *q;
    char *out, *o;
    t->p++;
    /* First pass finds the end, so the copy is sized by what is there. */
    for(q = t->p; q < t->end && *q != '"'; q++) {
      if(*q == '\\') {
        if(q + 1 >= t->end || (q[1] != '\\' && q[1] != '"'))
          return -1;
        q++;
      }
      else if(*q == '\r' || *q == '\n' || *q == '\0') {
        return -1;
      }
    }
    if(q >= t->end)
      return -1;
    out = malloc((size_t)(q - t->p) + 1);
    if(!out)
      return -1;
    for(o = out; t->p < q; t->p++) {
      if(*t->p == '\\')
        t->p++;
      *o++ = *t->p;
    }
    t->p++; /* closing quote */
    *o = '\0';
    *s_r = out;
    *len_r = (size_t)(o - out);
    return 0;
  }
  if(c == '{') {
    const char *s;
    size_t n;
    if(itok_literal_span(t, &s, &n) < 0)
      return -1;
    if(memchr(s, '\0', n))
      return -1;
    return copy_out(s, n, s_r, len_r);
  }
  return -1;
}

int itok_nstring(struct itok *t, char **s_r, size_t *len_r)
{
  if(itok_nil(t)) {
    *s_r = NULL;
    *len_r = 0;
    return 0;
  }
  return itok_string(t, s_r, len_r);
}

int itok_astring(struct itok *t, char **s_r, size_t *len_r)
{
  const char *s;
  size_t n;
  int c = itok_peek(t);
  if(c == '"' || c == '{')
    return itok_string(t, s_r, len_r);
  if(itok_atom(t, false, &s, &n) < 0)
    return -1;
  return copy_out(s, n, s_r, len_r);
}

/* Iterative, so the nesting allowed is a counter, not stack depth: a
 * BODYSTRUCTURE nested thousands deep can be stepped over (and then refused
 * for that message alone by the structure parser). */
int itok_skip_value(struct itok *t, unsigned max_depth)
{
  unsigned depth = 0;
  for(;;) {
    int c = itok_peek(t);
    if(depth > 0 && c == ' ') {
      t->p++;
      continue;
    }
    if(depth > 0 && c == ')') {
      t->p++;
      if(--depth == 0)
        return 0;
      continue;
    }
    if(c == '(') {
      if(depth == max_depth)
        return -1;
      t->p++;
      depth++;
      continue;
    }
    if(c == '"') {
      t->p++;
      while(t->p < t->end && *t->p != '"') {
        if(*t->p == '\\')
          t->p++;
        t->p++;
      }
      if(t->p >= t->end)
        return -1;
      t->p++;
    }
    else if(c == '{') {
      const char *s;
      size_t n;
      if(itok_literal_span(t, &s, &n) < 0)
        return -1;
    }
    else {
      const char *s;
      size_t n;
      if(itok_atom(t, false, &s, &n) < 0)
        return -1;
    }
    if(depth == 0)
      return 0;
  }
}
