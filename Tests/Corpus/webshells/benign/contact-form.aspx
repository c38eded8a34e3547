<%@ Page Language="C#" ValidateRequest="true" %>
<script runat="server">
void Send(object s, EventArgs e) {
  var m = new System.Net.Mail.MailMessage("web@contoso.com", "sales@contoso.com", "Contact", Server.HtmlEncode(Request.Form["message"]));
  new System.Net.Mail.SmtpClient("localhost").Send(m);
}
</script>
<form runat="server"><textarea name="message"></textarea><asp:Button OnClick="Send" runat="server"/></form>
