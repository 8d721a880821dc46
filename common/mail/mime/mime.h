/*
 * mime: an Internet message parser for mail we did not write.
 *
 * Implements, tolerantly: RFC 5322 (header fields, unfolding, dates),
 * RFC 2045 (Content-Type, Content-Transfer-Encoding, base64,
 * quoted-printable; x-uuencode too), RFC 2046 (multipart of any subtype,
 * message/rfc822, multipart/digest defaults), RFC 6522 returned headers
 * (message/rfc822-headers), RFC 1896 text/enriched as plain text, RFC 2047
 * (encoded words in header values), RFC 2183 (Content-Disposition),
 * RFC 2231 (parameter continuations, charset'lang'percent-encoding).
 *
 * Model: mime_parse() reads a whole message from one memory block and builds
 * a tree of parts whose header and body pointers point into that block (the
 * block must outlive the tree).  Only header fields are copied (unfolded and
 * decoded).  Bodies stay transfer-encoded in place and are decoded on demand,
 * one part at a time (mime_part_decode / mime_part_text), so memory stays
 * about: input + headers + the one decoded part the caller holds.
 * (Exception: a message/rfc822 part that is itself base64 or QP encoded,
 * which RFC 2046 forbids but mailers do, is decoded once at parse time so its
 * inner message can be parsed; that copy lives as long as the tree, and all
 * such copies together are capped at max_decoded_bytes.)
 *
 * Nothing in the input is trusted: every length comes from cursor/end
 * scanning, never from a header.  Bad input never fails the parse.  Limits
 * (struct mime_limits) never fail the parse either: the part where a limit
 * tripped gets MIME_PART_OVERFLOW and a reason string, the bytes beyond the
 * limit are left unparsed ("opaque"), and everything before it is kept.
 * mime_parse() fails only when memory runs out.
 *
 * All strings handed out are NUL-terminated.  Values the API calls "UTF-8"
 * are valid UTF-8 (invalid input bytes are converted, see mime_charset_to_utf8)
 * and contain no NUL (a decoded NUL becomes U+FFFD), so strlen() is their
 * length.  Decoded bodies (struct mime_data) are bytes: use their len.
 */
#ifndef MIME_MIME_H
#define MIME_MIME_H

#include <stddef.h>
#include <stdint.h>

/* ---- limits ------------------------------------------------------------ */

#define MIME_DEFAULT_MAX_DEPTH         32
#define MIME_DEFAULT_MAX_PARTS         1000
#define MIME_DEFAULT_MAX_HEADER_BYTES  (256 * 1024)
#define MIME_DEFAULT_MAX_HEADERS       1000
#define MIME_DEFAULT_MAX_DECODED_BYTES (64 * 1024 * 1024)
/* max_depth above this is clamped: the parser recurses once per level. */
#define MIME_HARD_MAX_DEPTH 256

/* Every field: 0 means "use the default above". */
struct mime_limits {
  unsigned max_depth;       /* nesting of multipart / message/rfc822; the
                               root is depth 0.  A container part at this
                               depth is not entered (MIME_PART_OVERFLOW). */
  unsigned max_parts;       /* parts in the whole tree, root included.  The
                               multipart (or message/rfc822) that would have
                               needed one more gets MIME_PART_OVERFLOW and
                               its remaining children are left unparsed. */
  size_t max_header_bytes;  /* bytes of one part's header block.  Fields past
                               it are dropped (MIME_PART_HEADERS_TRUNCATED +
                               OVERFLOW); the body is still found. */
  unsigned max_headers;     /* header fields kept per header block; the rest
                               are dropped as for max_header_bytes. */
  size_t max_decoded_bytes; /* output of one mime_part_decode/_text call;
                               longer output is cut (MIME_DATA_TRUNCATED).
                               Also the total of the parse-time copies of
                               encoded message/rfc822 bodies (a part past
                               it gets MIME_PART_OVERFLOW). */
};

/* Fill lim with the MIME_DEFAULT_* values. */
void mime_limits_default(struct mime_limits *lim);

/* ---- the tree ---------------------------------------------------------- */

enum mime_encoding {
  MIME_ENC_7BIT = 0, /* also the default when the header is absent */
  MIME_ENC_8BIT,
  MIME_ENC_BINARY,
  MIME_ENC_BASE64,
  MIME_ENC_QP,
  MIME_ENC_UUENCODE, /* x-uuencode, uuencode, x-uue */
  MIME_ENC_UNKNOWN,  /* anything else: decoded as identity */
};

/* One header field, in input order; duplicates are kept. */
struct mime_header {
  const char *name;  /* as written (case kept), trailing blanks removed */
  const char *value; /* unfolded raw value: line breaks removed (a
                        stray continuation line without leading blank
                        is joined with one space), leading/trailing
                        blanks trimmed, NUL bytes dropped; encoded
                        words and 8-bit bytes left as they were */
  size_t value_len;
  const char *decoded; /* value with RFC 2047 encoded words decoded and
                          raw 8-bit text converted, as UTF-8 */
  size_t decoded_len;
};

/* One Content-Type or Content-Disposition parameter after RFC 2231
 * reassembly (name*0, name*1*, ... joined; "name*" preferred over "name"). */
struct mime_param {
  const char *name;  /* lower-case, without any '*' suffix */
  const char *value; /* UTF-8: quotes and escapes removed, RFC 2231
                        percent-encoding and charset decoded, RFC 2047
                        words decoded (mailers put them in file names) */
};

/* mime_part.flags */
#define MIME_PART_MULTIPART 0x0001u /* multipart/ * entered: see children */
#define MIME_PART_MESSAGE                                                \
  0x0002u /* message/rfc822 (or message/global, or the returned headers  \
             of a bounce, message/rfc822-headers, RFC 6522) entered: one \
             child, the attached message's root part */
#define MIME_PART_OVERFLOW          0x0004u /* a limit tripped here; see reason */
#define MIME_PART_HEADERS_TRUNCATED 0x0008u /* header fields were dropped */
#define MIME_PART_NO_END_BOUNDARY        \
  0x0010u /* multipart ended without its \
             close delimiter (tolerated) */
#define MIME_PART_BAD_MULTIPART                                           \
  0x0020u /* multipart without a usable boundary, or whose boundary never \
             occurs: kept as a leaf and read as text/plain (content_type  \
             says so), what a mail client shows */
#define MIME_PART_NO_HEADER_END             \
  0x0040u /* header block ended without an  \
             empty line (body starts at the \
             first line that is not a field) */
#define MIME_PART_BAD_TYPE                                                 \
  0x0080u /* Content-Type that cannot be parsed (no type/subtype): read as \
             text/plain, RFC 2045 section 5.2 */

struct mime_part {
  struct mime_part *parent;   /* NULL for the root */
  struct mime_part *next;     /* next sibling */
  struct mime_part *children; /* first child, NULL for a leaf */
  unsigned nchildren;
  unsigned index;     /* pre-order number, root = 0 */
  unsigned depth;     /* root = 0; children of X are X.depth + 1 */
  unsigned flags;     /* MIME_PART_* */
  const char *reason; /* why OVERFLOW/TRUNCATED was set, one line
                         naming the limit and its value; else NULL */

  const struct mime_header *headers; /* nheaders fields, in input order */
  size_t nheaders;

  const char *header_raw; /* the raw header block (in the input or, for
                             a part inside an encoded message/rfc822,
                             in the tree's decoded copy) */
  size_t header_raw_len;
  const char *body; /* the raw body, still transfer-encoded; for
                       a multipart this includes preamble, parts
                       and epilogue */
  size_t body_len;

  const char *content_type;  /* lower-case "type/subtype" as written;
                                "text/plain" when absent or empty
                                ("message/rfc822" inside multipart/digest),
                                and when it cannot be parsed (no '/', an
                                empty type or subtype, "application-x-gzip":
                                MIME_PART_BAD_TYPE) or is an unusable
                                multipart (MIME_PART_BAD_MULTIPART). */
  int content_type_explicit; /* 1 when a Content-Type field was present */
  const struct mime_param *ct_params;
  size_t nct_params;
  const char *charset;  /* lower-case charset parameter, or NULL */
  const char *boundary; /* multipart boundary parameter, or NULL */

  const char *disposition; /* lower-case disposition type ("attachment",
                              "inline", ...) or NULL when absent */
  const struct mime_param *disp_params;
  size_t ndisp_params;

  const char *filename; /* UTF-8: Content-Disposition filename, else
                           Content-Type name, else NULL.  Untrusted:
                           may contain '/', "..", control characters;
                           sanitize before using as a path. */
  enum mime_encoding encoding;
};

struct mime_message;

/* Parse data[0..len) as one message.  The data must stay valid and
 * unchanged until mime_message_free(); parts point into it.  lim may be
 * NULL for the defaults.  Lines may end in CRLF or LF (mixed is fine).
 * Returns 0 and sets *msg_r (never NULL) for any input, malformed or not;
 * returns -1 only when out of memory, with *error_r (if error_r is not
 * NULL) set to a static string. */
int mime_parse(const void *data, size_t len, const struct mime_limits *lim,
               struct mime_message **msg_r, const char **error_r);

/* Free the tree and everything it handed out (headers, params, names);
 * sets *msg to NULL.  NULL or *msg == NULL is fine. */
void mime_message_free(struct mime_message **msg);

/* The root part: the message itself (its headers are the top-level ones). */
const struct mime_part *mime_message_root(const struct mime_message *msg);
/* Number of parts in the tree. */
unsigned mime_message_part_count(const struct mime_message *msg);
/* OR of all parts' flags: test MIME_PART_OVERFLOW here to know whether any
 * limit tripped anywhere, then walk the parts for the reasons. */
unsigned mime_message_flags(const struct mime_message *msg);
/* The limits in force (defaults filled in). */
const struct mime_limits *mime_message_limits(const struct mime_message *msg);

/* Pre-order walk: children first, then siblings, then up.  Starting at the
 * root and calling until NULL visits every part once, attached messages'
 * parts included. */
const struct mime_part *mime_part_next(const struct mime_part *part);

/* First header field named name (ASCII case-insensitive) after `after`
 * (NULL: from the start).  Returns NULL when there is none.  Loop with
 *   for (h = mime_header_find(p, "Received", NULL); h;
 *        h = mime_header_find(p, "Received", h)) */
const struct mime_header *mime_header_find(const struct mime_part *part,
                                           const char *name,
                                           const struct mime_header *after);
/* The decoded (UTF-8) value of the first field named name, or NULL. */
const char *mime_header_get(const struct mime_part *part, const char *name);

/* The value of Content-Type parameter name (lower-case name), or NULL. */
const char *mime_part_ct_param(const struct mime_part *part, const char *name);

/* 1 if part carries content itself: no children and not an entered
 * multipart.  This includes a multipart or message/rfc822 that was not
 * entered because of a limit or a bad boundary (flags say which).  An
 * entered multipart whose children were all cut by max_parts is not a
 * leaf (it has MIME_PART_OVERFLOW). */
int mime_part_is_leaf(const struct mime_part *part);
/* 1 if part is the root of a message: the top-level root or the child of a
 * message/rfc822 part.  Such a part's headers are an email's headers. */
int mime_part_is_message_root(const struct mime_part *part);
/* 1 if the leaf is an attachment: Content-Disposition attachment, or it has
 * a file name, or it is not text (an unknown text subtype is text/plain,
 * RFC 2046 4.1.4). */
int mime_part_is_attachment(const struct mime_part *part);
/* 1 if the leaf is a text body (a leaf that is not an attachment per
 * mime_part_is_attachment). */
int mime_part_is_body(const struct mime_part *part);

/* ---- decoding ---------------------------------------------------------- */

/* mime_data.flags */
#define MIME_DATA_TRUNCATED 0x01u /* output cut at max_decoded_bytes */
#define MIME_DATA_DAMAGED                                              \
  0x02u                          /* bad encoding tolerated: junk in    \
                                    base64, bad byte sequences for the \
                                    charset (replaced with U+FFFD) */
#define MIME_DATA_FALLBACK 0x04u /* charset missing/unknown: guessed */

struct mime_data {
  char *data; /* malloc'd, NUL-terminated (NUL not in len);
                 free with mime_data_free */
  size_t len;
  unsigned flags;   /* MIME_DATA_* */
  char charset[48]; /* mime_part_text / mime_charset_to_utf8: the
                       charset actually used ("UTF-8", "windows-1252",
                       "CP932", or the declared label as iconv got it) */
};

/* Decode part's body from its transfer encoding (base64 tolerant of any
 * line length, whitespace and junk; QP with soft breaks; everything else
 * as is).  For a multipart this is the raw multipart body.  Fills *out
 * (zeroed first).  Returns 0 (check out->flags), -1 out of memory. */
int mime_part_decode(const struct mime_message *msg,
                     const struct mime_part *part, struct mime_data *out);

/* mime_part_decode, then convert from the part's charset to UTF-8 (see
 * mime_charset_to_utf8), drop a leading BOM and turn CRLF into LF, so a
 * CRLF and an LF copy of a mail give the same text.  text/enriched (RFC
 * 1896) comes out as plain text: formatting commands and their <param>
 * arguments dropped, line breaks as the RFC reads them.  Returns 0 or -1. */
int mime_part_text(const struct mime_message *msg, const struct mime_part *part,
                   struct mime_data *out);

/* uuencode: a "begin MODE NAME" line (MODE three or four octal digits),
 * encoded lines, "end".  Old mailers and droppers put such blocks in text
 * bodies; Content-Transfer-Encoding: x-uuencode parts are one such block. */
#define MIME_MAX_UU_NAME 255 /* longer names: not a begin line */
struct mime_uu_block {
  size_t start;    /* offset of the begin line */
  size_t data;     /* offset of the first encoded line */
  size_t data_end; /* end of the encoded lines */
  size_t end;      /* past the "end" line (or the last encoded line
                      when there is none) */
  char name[MIME_MAX_UU_NAME + 1]; /* as written on the begin line: bytes,
                                      untrusted like mime_part.filename */
};

/* Find the first block in text[0..len) whose begin line starts at or after
 * offset pos (a line start) and is followed by a valid encoded line.
 * Returns 1 and fills *blk, or 0 when there is none. */
int mime_uu_find(const char *text, size_t len, size_t pos,
                 struct mime_uu_block *blk);

/* Decode blk's lines in text into *out (zeroed first), at most max bytes
 * (MIME_DATA_TRUNCATED past it; max 0 gives an empty result).  Returns 0,
 * -1 out of memory. */
int mime_uu_block_decode(const char *text, const struct mime_uu_block *blk,
                         size_t max, struct mime_data *out);

/* Release out->data and zero *out.  Safe on a zeroed struct. */
void mime_data_free(struct mime_data *out);

/* Convert in[0..len) from charset (a MIME name, any case; NULL or "" when
 * unknown) to UTF-8 into *out (zeroed first), at most max bytes (0: no cap).
 * Known names go through iconv (Shift_JIS is read as CP932, ISO-8859-1 as
 * windows-1252, as mail readers do); byte sequences invalid in the charset
 * become U+FFFD (MIME_DATA_DAMAGED).  A missing, unknown or placeholder
 * charset ("unknown-8bit", and "us-ascii", which mailers stick on
 * anything) falls back to UTF-8 when the bytes
 * are valid UTF-8, else windows-1252 (MIME_DATA_FALLBACK).
 * Returns 0 or -1 out of memory. */
int mime_charset_to_utf8(const char *charset, const char *in, size_t len,
                         size_t max, struct mime_data *out);

/* Decode RFC 2047 encoded words in a header value in[0..len) to UTF-8 (as
 * mime_header.decoded is made): B and Q words; adjacent words joined without
 * the blanks between them, and their bytes joined before charset
 * conversion (a character may be split across words); words in an unknown
 * charset kept as written; raw 8-bit text converted as by the fallback of
 * mime_charset_to_utf8.  Returns a malloc'd string (length in *len_r if not
 * NULL) or NULL when out of memory. */
char *mime_header_decode(const char *in, size_t len, size_t *len_r);

/* Parse an RFC 5322 date ("Tue, 1 Jul 2003 10:52:37 +0200", obsolete forms:
 * two-digit years, named zones, missing seconds or weekday, comments) to
 * seconds since the epoch, UTC.  Returns 0, or -1 if s is not a date. */
int mime_parse_date(const char *s, int64_t *epoch_r);

#endif
