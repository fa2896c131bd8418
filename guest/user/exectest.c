/* exectest - a helper for the test suite's exec test: exits 42 when argv is "exectest alpha beta". */
#include "ulib.h"

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[0], "exectest") && !strcmp(argv[1], "alpha") &&
	    !strcmp(argv[2], "beta") && argv[3] == NULL)
		return 42;
	return 1;
}
