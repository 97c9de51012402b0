/*
** es_cli.h -- what the Lua bridge (es_lua_host.c) offers the CLI (main.c), so
** that main.c needs no Lua header.
*/
#ifndef ES_CLI_H
#define ES_CLI_H

/* `evstream run SCRIPT ...`: argv[0] is the script; returns the exit code. */
int es_cli_run(int argc, char **argv);
/* `evstream scripts`: list the bundled scripts; returns the exit code. */
int es_cli_list_scripts(void);
/* The exit status when the reader of stdout went away (128 + SIGPIPE, as
** the shell reports a `cat` killed by SIGPIPE); nothing is printed. */
#define ES_CLI_EPIPE_STATUS 141
/* "Lua 5.4.x" */
const char *es_cli_lua_version(void);

#endif
