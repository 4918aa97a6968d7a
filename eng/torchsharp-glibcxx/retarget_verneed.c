/* retarget-verneed FILE VERSION
   Rewrites, in place, the version-requirement (.gnu.version_r) auxiliary entry named VERSION so that it names
   another version already required from the same library (the shortest such name with the same prefix up to
   the last dot, e.g. GLIBCXX_3.4.32 -> GLIBCXX_3.4 or GLIBCXX_3.4.9). Both the string offset (vna_name) and
   the ELF hash (vna_hash) are updated; nothing else in the file moves. ELF64 little-endian only.
   Exit codes: 0 rewritten, 3 VERSION not required (nothing to do), 1 error. */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long elf_hash(const char *name)
{
    unsigned long h = 0, g;
    while (*name) {
        h = (h << 4) + (unsigned char)*name++;
        if ((g = h & 0xf0000000UL)) h ^= g >> 24;
        h &= ~g;
    }
    return h;
}

static int fail(const char *file, const char *what)
{
    fprintf(stderr, "retarget-verneed: %s: %s\n", file, what);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) { fprintf(stderr, "usage: retarget-verneed FILE VERSION\n"); return 1; }
    const char *file = argv[1], *old = argv[2];
    FILE *f = fopen(file, "rb");
    if (!f) return fail(file, "cannot open");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)size);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) { fclose(f); return fail(file, "cannot read"); }
    fclose(f);

    Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
    if (size < (long)sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
        return fail(file, "not a little-endian ELF64 file");
    if (eh->e_shoff + (unsigned long)eh->e_shnum * sizeof(Elf64_Shdr) > (unsigned long)size)
        return fail(file, "section headers lie outside the file");
    Elf64_Shdr *sh = (Elf64_Shdr *)(buf + eh->e_shoff);

    Elf64_Shdr *vr = NULL;
    for (int i = 0; i < eh->e_shnum; i++)
        if (sh[i].sh_type == SHT_GNU_verneed) vr = &sh[i];
    if (!vr) return fail(file, "no .gnu.version_r section");
    if (vr->sh_link >= eh->e_shnum) return fail(file, "bad .gnu.version_r link");
    Elf64_Shdr *strs = &sh[vr->sh_link];
    const char *dynstr = (const char *)(buf + strs->sh_offset);

    /* The prefix that a replacement must share: "GLIBCXX_3.4.32" -> "GLIBCXX_3.4". */
    const char *lastdot = strrchr(old, '.');
    size_t prefix = lastdot ? (size_t)(lastdot - old) : strlen(old);

    int rc = 3;
    unsigned long off = vr->sh_offset;
    for (;;) {
        Elf64_Verneed *vn = (Elf64_Verneed *)(buf + off);
        Elf64_Vernaux *target = NULL;
        const char *best = NULL;
        Elf64_Word best_off = 0;
        unsigned long aoff = off + vn->vn_aux;
        for (int j = 0; j < vn->vn_cnt; j++) {
            Elf64_Vernaux *va = (Elf64_Vernaux *)(buf + aoff);
            const char *name = dynstr + va->vna_name;
            if (strcmp(name, old) == 0) target = va;
            else if (strncmp(name, old, prefix) == 0 && (!best || strlen(name) < strlen(best))) {
                best = name;
                best_off = va->vna_name;
            }
            aoff += va->vna_next;
        }
        if (target) {
            if (!best) return fail(file, "no other version with the same prefix to retarget to");
            target->vna_name = best_off;
            target->vna_hash = (Elf64_Word)elf_hash(best);
            printf("retarget-verneed: %s: %s -> %s (needed from %s)\n", file, old, best, dynstr + vn->vn_file);
            rc = 0;
        }
        if (!vn->vn_next) break;
        off += vn->vn_next;
    }
    if (rc != 0) return rc;

    f = fopen(file, "r+b");
    if (!f || fwrite(buf, 1, (size_t)size, f) != (size_t)size || fclose(f) != 0)
        return fail(file, "cannot write");
    free(buf);
    return 0;
}
