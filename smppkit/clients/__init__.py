"""ESMEs: helpers over python-smpplib (`client`), the asyncio `Esme`, and throttling policies."""
