/* The clgan commands. Each takes argv starting at the command word and
 * returns the process exit code: 0 success, 1 runtime failure, 2 bad input. */
#ifndef CLGAN_CLI_H
#define CLGAN_CLI_H

int clgan_cmd_devices(int argc, char **argv);
int clgan_cmd_train(int argc, char **argv);
int clgan_cmd_sample(int argc, char **argv);
int clgan_cmd_check(int argc, char **argv);

#endif
