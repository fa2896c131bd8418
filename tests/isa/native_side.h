/* native_side.h - the native runner child process and its pipes (native_side.c). */
#ifndef NATIVE_SIDE_H
#define NATIVE_SIDE_H

#include <stddef.h>
#include "isa.h"

/* Start the runner; 0, or -1 with a message in err (the runner cannot run here). */
int native_start(const char *path, char *err, size_t errlen);
int native_send(const struct isa_in *in);
int native_recv(struct isa_out *out);
void native_stop(void);

#endif
