/*
 * loop: the recovery thread (see loop.c). Internal to the recovery module;
 * the service starts it through these three calls.
 */
#ifndef ORC_REC_LOOP_H
#define ORC_REC_LOOP_H

#include "recovery/env.h"

struct rec_loop;

/* Starts the recovery thread. env is borrowed for the loop's life. */
int rec_loop_start(struct rec_env *env, struct rec_loop **out, char *errmsg, size_t len);
/* Wakes the loop: the topology changed. Thread-safe; NULL is fine. */
void rec_loop_notify(struct rec_loop *l);
/* Stops the thread (waits for a running recovery to finish) and frees. */
void rec_loop_stop(struct rec_loop *l);

#endif
