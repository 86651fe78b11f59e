/* floats: printf/strtod of floats and doubles, math library results to the last bit. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static volatile double vzero = 0.0;

int main(void) {
    double vals[] = {0.0, -0.0, 1.0, 0.1, 1.0 / 3, 2.5, 1e300, 1e-300, DBL_MAX, DBL_MIN,
                     4.9e-324, 123456789.125, -987.654321, 3.141592653589793, 1e21, 1e-7};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        double v = vals[i];
        printf("%%f=%f %%e=%e %%g=%g %%.17g=%.17g %%a=%a\n", v, v, v, v, v);
    }
    printf("inf=%f -inf=%f nan=%f\n", 1 / vzero, -1 / vzero, vzero / vzero);
    printf("%.3f %10.4f|%-10.2e|%+g %08.3f\n", 2.0005, M_PI, 12345.678, 0.0001, -3.5);
    float fs[] = {1.1f, FLT_MAX, FLT_MIN, 16777217.0f, 0.3f};
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) printf("float %.9g %a\n", fs[i], fs[i]);
    const char *strs[] = {"0.1", "1e400", "-1e-400", "0x1.8p3", "nan", "inf", "2.2250738585072011e-308",
                          "123.456e-2", "  42abc"};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        char *end;
        double d = strtod(strs[i], &end);
        printf("strtod(%s)=%.17g rest=[%s]\n", strs[i], d, end);
    }
    double x = 0.5;
    for (int i = 0; i < 8; i++, x = x * 1.7 + 0.3)
        printf("x=%.17g sin=%.17g cos=%.17g exp=%.17g log=%.17g sqrt=%.17g pow=%.17g atan2=%.17g fmod=%.17g\n",
               x, sin(x), cos(x), exp(x), log(x), sqrt(x), pow(x, 1.5), atan2(x, 1.3), fmod(x * 10, 3.3));
    printf("floor=%g ceil=%g trunc=%g round=%g nearbyint=%g rint(2.5)=%g\n", floor(-2.5), ceil(-2.5),
           trunc(-2.5), round(-2.5), nearbyint(3.5), rint(2.5));
    printf("fmin=%g fmax=%g copysign=%g fabs=%g\n", fmin(1, vzero / vzero), fmax(-0.0, 0.0),
           copysign(3, -0.0), fabs(-7.25));
    printf("(int)3.99=%d (long long)-1e18=%lld (unsigned)3e9=%u\n", (int)3.99, (long long)-1e18,
           (unsigned)3e9);
    return 0;
}
