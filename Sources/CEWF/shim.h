// libewf (Debian's libewf-dev), which TSK reads E01 images through: here only for the hashes an
// E01 records of its own media.
#include <libewf.h>
