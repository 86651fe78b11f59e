/* rename: files and directories, over existing targets, across directories, and the errors. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

int main(void) {
    TRY(chdir("/sandbox"));
    TRY(put_file("a.txt", "A\n"));
    TRY(put_file("b.txt", "B\n"));
    TRY(rename("a.txt", "c.txt"));
    show_file("a.txt");
    show_file("c.txt");
    TRY(rename("c.txt", "b.txt")); /* replaces */
    show_file("b.txt");
    TRY(rename("b.txt", "sub/inner/moved.txt"));
    show_file("sub/inner/moved.txt");
    TRY(rename("nothing", "x"));
    TRY(rename("hello.txt", "sub")); /* file over dir */
    TRY(rename("sub", "hello.txt")); /* dir over file */
    TRY(mkdir("empty", 0755));
    TRY(mkdir("d1", 0755));
    TRY(put_file("d1/f", "f\n"));
    TRY(rename("d1", "empty")); /* dir over empty dir */
    show_file("empty/f");
    TRY(mkdir("d2", 0755));
    TRY(rename("d2", "sub")); /* dir over non-empty dir */
    TRY(rename("sub", "sub/inner/into-itself"));
    TRY(rename("hello.txt", "hello.txt"));
    TRY(rename("hello.txt", "newdir/x.txt"));
    TRY(rename("empty/", "renamed/"));
    TRY(rename("hello.txt/", "x"));
    TRY(rename("renamed", "sub/inner/renamed"));
    show_file("sub/inner/renamed/f");
    TRY(rename("link-to-hello", "moved-link")); /* renames the link, not the target */
    show_file("moved-link");
    TRY(rename("dangling", "still-dangling"));
    return 0;
}
