/* true - exit 0 at once: the smallest program to exec (mbench's forkexec workload). */
#include "ulib.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 0;
}
