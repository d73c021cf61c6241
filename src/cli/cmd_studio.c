/* cmd_studio.c: `palimpsest studio RUN`: starts the studio server (src/studio), prints its
 * URL with the token, warns when it listens beyond this machine, and stops on Ctrl-C. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

static const char USAGE[] =
  "usage: palimpsest studio RUN [--host 127.0.0.1] [--port 0] [--threads N] [--jobs 2] [--queue 8]\n\n"
  "A local web page over one run: loss curves and the checkpoints' timeline, live sampling\n"
  "from any moment, 2-6 moments compared side by side, the weave composer, the sweep grid,\n"
  "and kept texts (RUN/studio/kept.jsonl, each with the command line that writes it again).\n"
  "The URL it prints carries a random token: only requests with it (then its cookie) are\n"
  "answered. It listens on 127.0.0.1 unless --host says otherwise (then anyone who can reach\n"
  "the address and has the URL can use it: a warning says so). --port 0 picks a free port.\n"
  "At most --jobs generations run at once, --queue more wait, and beyond that a 429 answers.\n"
  "Ctrl-C stops it.\n";

int pal_cmd_studio(int argc, char **argv) {
  pal_studio_opts o;
  pal_studio_opts_default(&o);
  int max_length = o.max_length;
  const char *token = NULL;
  pal_strs pos = {0};
  pal_opt opts[] = {
    {"host", PAL_OPT_STR, &o.host, "address to listen on (127.0.0.1)", 0},
    {"port", PAL_OPT_INT, &o.port, "port (0 = any free one)", 0},
    {"threads", PAL_OPT_INT, &o.threads, "threads of one generation (0 = OMP_NUM_THREADS or all)", 0},
    {"jobs", PAL_OPT_INT, &o.jobs, "generations at once (2)", 0},
    {"queue", PAL_OPT_INT, &o.queue, "generations that may wait (8)", 0},
    {"max-length", PAL_OPT_INT, &max_length, "most new tokens of one generation (1024)", 0},
    {"token", PAL_OPT_STR, &token, "a fixed token (hex; default: a random one each start)", 0},
    {NULL, 0, NULL, NULL, 0},
  };
  int pr = pal_args_parse(argc, argv, USAGE, opts, &pos);
  if (pr) { pal_strs_free(&pos); return pr > 0 ? 0 : 1; }
  if (pos.n != 1) { pal_strs_free(&pos); return pal_cli_fail("studio: give one run folder (see --help)"); }
  o.run = pos.items[0];
  o.max_length = max_length;
  o.token = token;
  pal_cli_set_threads(o.threads);

  /* Ctrl-C and TERM are waited for here, not handled asynchronously */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  signal(SIGPIPE, SIG_IGN);

  pal_studio *s = NULL;
  pal_error err = {{0}};
  if (pal_studio_start(&s, &o, &err)) { pal_strs_free(&pos); return pal_cli_error(&err); }
  if (pal_studio_host_is_public(o.host))
    fprintf(stderr, "palimpsest: warning: the studio listens on %s, beyond this machine: anyone who can reach it "
                    "and has the URL can generate and keep texts\n", o.host);
  printf("%s\n", pal_studio_url(s));
  fflush(stdout);
  fprintf(stderr, "studio: serving %s (Ctrl-C to stop)\n", o.run);
  int sig = 0;
  sigwait(&stop, &sig);
  fprintf(stderr, "studio: stopping\n");
  pal_studio_stop(s);
  pal_strs_free(&pos);
  return 0;
}
