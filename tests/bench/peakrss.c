/*
 * peakrss: run a command and print the peak resident set size of the
 * largest process it ran (itself or any descendant it waited for), in KiB,
 * as "peakrss_kb=N" on stderr.  Exits with the command's status.
 *
 * Why a C launcher: a process forked from a big parent (Python holding
 * captured output) inherits the parent's high-water mark in ru_maxrss, so
 * measuring from the test harness itself over-reports.  This launcher is
 * tiny, so what it reports is the command's own peak.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  struct rusage ru;
  pid_t pid;
  int status;

  if(argc < 2) {
    fprintf(stderr, "usage: peakrss COMMAND [ARG...]\n");
    return 2;
  }
  pid = fork();
  if(pid < 0) {
    perror("fork");
    return 1;
  }
  if(pid == 0) {
    execvp(argv[1], argv + 1);
    perror(argv[1]);
    _exit(127);
  }
  while(waitpid(pid, &status, 0) < 0)
    ;
  getrusage(RUSAGE_CHILDREN, &ru);
  fprintf(stderr, "peakrss_kb=%ld\n", ru.ru_maxrss);
  if(WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
