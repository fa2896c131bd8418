.code32
.intel_syntax noprefix

 mov ecx, 20000
1: inc eax
 jmp 2f
 nop
2: add ebx, eax
 dec ecx
 jnz 1b
 hlt
