/* cat - copy standard input to standard output until end of file. */
#include "ulib.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char buf[512];
	int n;
	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (write(1, buf, (uint32_t)n) != n)
			return 1;
	return n < 0;
}
