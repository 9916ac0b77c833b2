/* Bytes per series for each window kind at alpha = 1%: 2,000 series, values
 * log-uniform-ish over four decades, spread evenly over one minute of event
 * time. Prints one row per window kind, one column per values-per-series.
 * The README's memory table comes from this program. */
#include <stdio.h>
#include <stdlib.h>
#include <windowagg/windowagg.h>
int main(){
  const char* names[]={"count(100)","count(10000)","sliding(60s,1s)","tumbling(60s)","hopping(60s,10s)"};
  int per[]={1,10,100,1000};
  for(int kind=0;kind<5;kind++){
    printf("%-18s",names[kind]);
    for(int pi=0;pi<4;pi++){
      aggregator_config c; aggregator_config_init(&c);
      int64_t S=1000000000LL;
      switch(kind){case 0:c.window_size=100;break;case 1:c.window_kind=0;c.window_size=10000;break;case 2:c.window_kind=1;c.window_size=60*S;c.pane_width=S;break;case 3:c.window_kind=2;c.window_size=60*S;break;case 4:c.window_kind=3;c.window_size=60*S;c.slide=10*S;break;}
      aggregator* a; aggregator_create(&c,&a);
      int nk=2000, n=per[pi]; double* v=malloc(sizeof(double)*nk*n); int64_t* ts=malloc(8*nk*n); uint64_t* k=malloc(8*nk*n);
      uint64_t x=7;
      for(int i=0;i<nk*n;i++){ x=x*6364136223846793005ULL+1442695040888963407ULL; v[i]=1+((x>>20)%100000)/10.0; k[i]=i%nk; ts[i]=(int64_t)i*(60*S/(nk*n)); }
      aggregator_push(a,v,kind?ts:NULL,k,(size_t)nk*n);
      uint64_t m0; aggregator_memory_usage(a,&m0);
      printf(" %8.0f", (double)m0/nk);
      aggregator_free(a); free(v); free(ts); free(k);
    }
    printf("\n");
  }
}
