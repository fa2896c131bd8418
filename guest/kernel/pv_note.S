/* pv_note.S - the ELF note that declares the PV build paravirtual (pv/abi.h). */
#ifdef PV_GUEST
#include "../../pv/abi.h"
	.section .note.vmm386, "", @note
	.balign 4
	.long 7                 /* namesz: "vmm386\0" */
	.long 4                 /* descsz */
	.long PV_NOTE_TYPE
	.asciz "vmm386"
	.balign 4
	.long PV_ABI_VERSION
#endif
	.section .note.GNU-stack, "", @progbits
