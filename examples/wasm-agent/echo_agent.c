/*
 * A Worka worker agent in C, compiled to a WASI (preview 1) module: runtime: wasm.
 *
 * The contract (docs/wasm.md): the step envelope (the JSON of GET /v1/agent/context) arrives on
 * stdin, the result (the body of POST /v1/agent/result) leaves on stdout, and Gateway calls go
 * through the host functions of the import module "worka". A skill call is
 *
 *   int worka.skill(name, name_len, body, body_len)
 *
 * with the body of POST /v1/agent/skills/{name} ({"input": {...}}); it returns the HTTP status
 * the agent API would have answered (200, 403 for a policy denial, ...), and
 *
 *   int worka.answer(out, out_cap)
 *
 * copies that answer's JSON body (at most out_cap bytes) and returns its full length.
 *
 * This agent does one thing: the objective "Open an issue in OWNER/REPO titled 'TITLE'" (the
 * scripted planner's form) becomes one github.create_issue call, and its answer becomes the step's
 * output. Anything else is a failed result saying what it expected. No file, socket, clock or
 * environment is used: the module gets none.
 *
 * Build: ./build.sh (clang --target=wasm32-wasi, Debian's wasi-libc).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((import_module("worka"), import_name("skill"))) int worka_skill(
    const char *name, int name_len, const char *body, int body_len);
__attribute__((import_module("worka"), import_name("answer"))) int worka_answer(char *out,
                                                                                int out_cap);

#define MAX_ENVELOPE (1024 * 1024)

static char envelope[MAX_ENVELOPE + 1];

/* The raw (still JSON-escaped) text of the first string field named `field`, or NULL. */
static char *string_field(char *json, const char *field, size_t *length) {
  char key[64];
  snprintf(key, sizeof key, "\"%s\":\"", field);
  char *start = strstr(json, key);
  if (start == NULL) {
    return NULL;
  }
  start += strlen(key);
  char *end = start;
  while (*end != '\0' && *end != '"') {
    end += (*end == '\\' && end[1] != '\0') ? 2 : 1;
  }
  *length = (size_t)(end - start);
  return start;
}

/* Writes a failed result and ends the step. */
static int fail(const char *why) {
  printf("{\"status\":\"failed\",\"error\":\"%s\"}\n", why);
  return 0;
}

/* Finds `needle` in the first `length` bytes of `text`. */
static char *find(char *text, size_t length, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; i + n <= length; i++) {
    if (memcmp(text + i, needle, n) == 0) {
      return text + i;
    }
  }
  return NULL;
}

int main(void) {
  size_t read = fread(envelope, 1, MAX_ENVELOPE, stdin);
  envelope[read] = '\0';

  size_t length;
  char *objective = string_field(envelope, "objective", &length);
  if (objective == NULL) {
    return fail("the step envelope has no objective");
  }
  /* "Open an issue in OWNER/REPO titled 'TITLE'" (or \"TITLE\" when the title holds a '). */
  char *in = find(objective, length, " in ");
  char *titled = find(objective, length, " titled ");
  if (in == NULL || titled == NULL || titled < in) {
    return fail("expected an objective: Open an issue in OWNER/REPO titled 'TITLE'");
  }
  char *owner = in + 4;
  char *slash = memchr(owner, '/', (size_t)(titled - owner));
  if (slash == NULL) {
    return fail("expected OWNER/REPO in the objective");
  }
  char *repo = slash + 1;
  char *title = titled + 8;
  char *end = objective + length;
  size_t quote = (*title == '\'') ? 1 : (title[0] == '\\' && title[1] == '"') ? 2 : 0;
  if (quote == 0 || end - title < (long)(2 * quote)) {
    return fail("expected a quoted title in the objective");
  }
  char *closing = (quote == 1) ? memchr(title + 1, '\'', (size_t)(end - title - 1))
                               : find(title + 2, (size_t)(end - title - 2), "\\\"");
  if (closing == NULL) {
    return fail("expected a closing quote after the title");
  }
  title += quote;

  static char body[8192];
  int body_len = snprintf(body, sizeof body,
                          "{\"input\":{\"owner\":\"%.*s\",\"repo\":\"%.*s\",\"title\":\"%.*s\"}}",
                          (int)(slash - owner), owner, (int)(titled - repo), repo,
                          (int)(closing - title), title);
  if (body_len <= 0 || body_len >= (int)sizeof body) {
    return fail("the issue is too long for this agent");
  }

  const char *skill = "github.create_issue";
  int status = worka_skill(skill, (int)strlen(skill), body, body_len);
  int answer_len = worka_answer(NULL, 0);
  char *answer = malloc((size_t)answer_len + 1);
  if (answer == NULL) {
    return fail("out of memory");
  }
  worka_answer(answer, answer_len);
  answer[answer_len] = '\0';

  if (status != 200) {
    /* The Gateway's error body, e.g. a policy denial: fail the step with it as the output. */
    printf("{\"status\":\"failed\",\"output\":%s,\"error\":\"github.create_issue answered %d\"}\n",
           answer, status);
    return 0;
  }
  printf("{\"status\":\"succeeded\",\"output\":%s,\"summary\":\"Filed the issue through the "
         "Gateway from a WASI module.\"}\n",
         answer);
  return 0;
}
