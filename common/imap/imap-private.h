/*
 * imap-private: the tokenizer shared by the IMAP response parsers (FETCH
 * items, LIST, BODYSTRUCTURE).  Not part of the public interface.
 *
 * A cursor walks forward over one assembled response, [p, end).  Literals
 * appear in it as "{N}\r\n" followed by N raw bytes (the client reader
 * writes them that way), and N is checked against what is left before any
 * byte is looked at.  Every function returns 0 and advances, or -1 and
 * leaves the cursor somewhere inside the failed token.
 */
#ifndef IMAP_IMAP_PRIVATE_H
#define IMAP_IMAP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct itok {
  const char *p;
  const char *end;
};

/* Next byte, or -1 at the end. */
int itok_peek(const struct itok *t);
/* Consume c if it is next. */
bool itok_eat(struct itok *t, char c);
/* Consume one or more spaces (servers differ in how many they send). */
int itok_sp(struct itok *t);
/* Consume NIL (any case) if it is next as a whole token. */
bool itok_nil(struct itok *t);
/* Decimal number in [0, max]. */
int itok_number(struct itok *t, uint64_t max, uint64_t *v_r);
/* Atom (also flags like \Seen): bytes 0x21-0x7e except ( ) { " and,
 * when stop_bracket, ].  Points into the input; not NUL-terminated. */
int itok_atom(struct itok *t, bool stop_bracket, const char **s_r,
              size_t *n_r);
/* Quoted string or literal, copied to a NUL-terminated malloc'd string
 * (*len_r excludes the NUL; a literal may contain NUL bytes, which are
 * refused).  NIL is an error. */
int itok_string(struct itok *t, char **s_r, size_t *len_r);
/* NIL (-> *s_r = NULL) or a string. */
int itok_nstring(struct itok *t, char **s_r, size_t *len_r);
/* Atom or string, copied. */
int itok_astring(struct itok *t, char **s_r, size_t *len_r);
/* Skip one value of any kind: atom, number, string, literal, NIL or a
 * parenthesized list nested at most max_depth deep. */
int itok_skip_value(struct itok *t, unsigned max_depth);

/* Case-insensitive compare of s[0..n) with the NUL-terminated word. */
bool imap_word_eq(const char *s, size_t n, const char *word);

#endif
