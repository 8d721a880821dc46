#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static enum log_level min_level = LOG_INFO;
static char *input_name;

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void log_set_level(enum log_level level)
{
  min_level = level;
}
enum log_level log_get_level(void)
{
  return min_level;
}

int log_level_parse(const char *name, enum log_level *level_r)
{
  static const struct {
    const char *name;
    enum log_level level;
  } map[] = {
    { "debug", LOG_DEBUG },  { "info", LOG_INFO },   { "warn", LOG_WARN },
    { "warning", LOG_WARN }, { "error", LOG_ERROR },
  };
  for(size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    if(strcasecmp(name, map[i].name) == 0) {
      *level_r = map[i].level;
      return 0;
    }
  }
  return -1;
}

void log_set_input(const char *name)
{
  free(input_name);
  input_name = name ? strdup(name) : NULL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
  char line[4096];
  va_list ap;
  int n;

  if(level < min_level)
    return;
  va_start(ap, fmt);
  n = vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if(n < 0)
    return;
  /* One message, one line: a CR or LF from the wire must not start a new,
   * unprefixed (and so ERROR-level) line in splunkd.log. */
  for(char *p = line; *p; p++)
    if(*p == '\n' || *p == '\r')
      *p = ' ';
  if(input_name)
    fprintf(stderr, "%s %s: %s\n", level_names[level], input_name, line);
  else
    fprintf(stderr, "%s %s\n", level_names[level], line);
}
